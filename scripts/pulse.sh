# Private PulseAudio for real-sound tests: source this file, then call pulse_start / pulse_stop.
# Devices: null sinks "spk" (the default output) and "micfeed", and the virtual source "mic"
# (the default input) fed from micfeed: play into micfeed and the program hears it on mic.
# An idle null sink renders 2 s ahead, so a stream opened on it (playing, or recording its monitor)
# stalls up to 2 s before it starts; a sound card does not. A silent client on each sink keeps it
# rendering every 10 ms (zeros add nothing to the mix). It asks 40 ms, which leaves the sink at the
# 10 ms that tests/harness.py's Recorder asks and its timing assumes. VOICECOACH_PULSE_KEEPALIVE=0
# leaves them out, to see the stall.

pulse_start() {
    local dir i sink
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
    _pulse_keepalive_pids=""
    if [ "${VOICECOACH_PULSE_KEEPALIVE:-1}" != 0 ]; then
        for sink in spk micfeed; do
            pacat --playback --device="$sink" --latency-msec=40 </dev/zero >>"$dir/pulse.log" 2>&1 &
            _pulse_keepalive_pids+=" $!"
        done
        # The sinks take the new pace at their next wake-up, up to 2 s away: wait for data on each monitor.
        for sink in spk micfeed; do
            if [ "$(timeout 5 pacat --record --device="$sink.monitor" 2>/dev/null | head -c 4 | wc -c)" != 4 ]; then
                echo "pulse: $sink.monitor gave no data within 5 seconds; log: $dir/pulse.log" >&2
                return 1
            fi
        done
    fi
    export VOICECOACH_TEST_PULSE=1
    echo "pulse: private PulseAudio running in $dir"
}

pulse_stop() {
    local dir=${VOICECOACH_PULSE_DIR:-}
    [ -n "$dir" ] || return 0
    local pid="" i
    if [ -n "${_pulse_keepalive_pids:-}" ]; then
        kill $_pulse_keepalive_pids 2>/dev/null || true
        wait $_pulse_keepalive_pids 2>/dev/null || true
        _pulse_keepalive_pids=""
    fi
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
