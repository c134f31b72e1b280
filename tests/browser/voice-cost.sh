#!/usr/bin/env bash
# CPU time the daemon spends on a voice track ("see the music") against rendering the same
# song to WAV (doc/performance.md, "Voice track"). Needs a running sidflowd whose library has
# the tune (e.g. [paths] library = "<shared>/corpus"), a chip/format nobody rendered yet.
#   tests/browser/voice-cost.sh http://127.0.0.1:PORT DAEMON_PID TUNE_PATH
# CPU time of the daemon for a voice track vs a whole render of the same song.
U=$1; PID=$2; P=$3
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
S=$(curl -s -H 'Content-Type: application/json' -d "{\"path\":\"$P\",\"prefs\":{\"format\":\"wav\",\"chip\":\"8580\"}}" $U/api/play)
ID=$(echo $S | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
LEN=$(echo $S | python3 -c 'import json,sys; print(json.load(sys.stdin)["length_ms"])')
c0=$(cpu); t=$(curl -s -H 'Accept-Encoding: gzip' -o /tmp/scratch/vt.gz -w '%{time_total} %{size_download}' $U/api/playback/$ID/voices); c1=$(cpu)
c2=$(cpu); r=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' $U/api/playback/$ID/wav); sleep 0.5; c3=$(cpu)
echo "$P length_ms=$LEN voices: wall/bytes(gz)=$t cpu_ticks=$((c1-c0)) | wav render: wall/bytes=$r cpu_ticks=$((c3-c2))"
