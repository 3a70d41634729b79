"""The faults benchmark's fault modules: each defines FAULTS, a list of common.Fault."""
