"""The subcommands' bodies, one module per group; voicecoach/cli.py parses the options and calls these."""
