# Private PulseAudio for real-sound tests: source this file, then call pulse_start / pulse_stop.
# Devices: null sinks "spk" (the default output) and "micfeed", and the virtual source "mic"
# (the default input) fed from micfeed: play into micfeed and the program hears it on mic.

pulse_start() {
    local dir i
    dir=$(mktemp -d "${TMPDIR:-/tmp}/voicecoach-pulse-XXXXXX")
    chmod 700 "$dir"
    mkdir -m 700 "$dir/run"
    export VOICECOACH_PULSE_DIR="$dir"
    _pulse_saved_xdg=${XDG_RUNTIME_DIR-}
    export XDG_RUNTIME_DIR="$dir/run"
    export PULSE_RUNTIME_PATH="$dir/run/pulse"
    # A stray PULSE_SERVER would point every client at some other daemon.
    unset PULSE_SERVER PULSE_SINK PULSE_SOURCE
    if ! pulseaudio --daemonize=yes -n --exit-idle-time=-1 --log-target=file:"$dir/pulse.log" \
        --load=module-native-protocol-unix \
        --load="module-null-sink sink_name=spk" \
        --load="module-null-sink sink_name=micfeed" \
        --load="module-virtual-source source_name=mic master=micfeed.monitor" 2>>"$dir/pulse.log"; then
        echo "pulse: the daemon did not start; log: $dir/pulse.log" >&2
        return 1
    fi
    for i in $(seq 1 50); do
        pactl info >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! pactl info >/dev/null 2>&1; then
        echo "pulse: no answer from the daemon after 5 seconds; log: $dir/pulse.log" >&2
        return 1
    fi
    pactl set-default-sink spk
    pactl set-default-source mic
    export VOICECOACH_TEST_PULSE=1
    echo "pulse: private PulseAudio running in $dir"
}

pulse_stop() {
    local dir=${VOICECOACH_PULSE_DIR:-}
    [ -n "$dir" ] || return 0
    local pid="" i
    pid=$(cat "$PULSE_RUNTIME_PATH/pid" 2>/dev/null || true)
    pulseaudio -k 2>/dev/null || true
    # pulseaudio -k only asks; wait (bounded) for the daemon to go before removing its directory.
    if [ -n "$pid" ]; then
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    unset VOICECOACH_PULSE_DIR VOICECOACH_TEST_PULSE PULSE_RUNTIME_PATH
    if [ -n "${_pulse_saved_xdg-}" ]; then export XDG_RUNTIME_DIR="$_pulse_saved_xdg"; else unset XDG_RUNTIME_DIR; fi
}
