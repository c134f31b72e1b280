# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sidflowd_global_optspecs
    string join \n h/help V/version
end

function __fish_sidflowd_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sidflowd_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sidflowd_using_subcommand
    set -l cmd (__fish_sidflowd_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sidflowd -n "__fish_sidflowd_needs_command" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -s V -l version -d 'Print version'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "serve" -d 'Run the daemon: web UI, HTTP API, devices, line-out (the default)'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "render" -d 'Render a .sid tune to audio files with the built-in engine'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "cache" -d 'Inspect the render cache'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "devices" -d 'List the C64 Ultimate devices discovery finds'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "capture" -d 'Play a tune on a C64 Ultimate and record its audio stream'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "sim-ultimate" -d 'Run a virtual Ultimate 64 (a simulator) for tests and demos'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "lineout" -d 'ALSA line-out tools'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "setup-code" -d 'Print the one-time code that first-run setup in /admin asks for'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "hash-password" -d 'Read a password from stdin and print its argon2 hash (for `admin.password_hash`)'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "mdns-advertise" -d 'Advertise over mDNS without serving (for the Avahi interoperability test)'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "generate-docs" -d 'Write the man pages and shell completions (packaging/man, packaging/completions)'
complete -c sidflowd -n "__fish_sidflowd_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand serve" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand serve" -l listen -d 'Address and port to listen on, e.g. 0.0.0.0:80 (overrides `server.listen`)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand serve" -l data-dir -d 'State folder (overrides `paths.data_dir`); the cache goes to DIR/cache unless `paths.cache_dir` is configured' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand serve" -l library -d 'SID collection folder (overrides `paths.library`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand serve" -l dev -d 'Development: the demo library on 127.0.0.1:8080, all state under ./.sidflow-dev/'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand serve" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l song -d 'Song number, 1-based (default: the tune\'s start song)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l chip -d 'Force the SID model: 6581 or 8580 (default: the tune\'s; 6581 when it names none)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l clock -d 'Force the clock: pal or ntsc (default: the tune\'s; PAL when it names none)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l seconds -d 'Length in seconds (overrides Songlengths.md5 and the default of 180 s)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l rate -d 'Output sample rate in Hz (44100 or 48000; 8000-96000 accepted)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l songlengths -d 'HVSC Songlengths.md5 to take the song\'s length from' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l format -d 'Formats to write from the one render, e.g. `wav,mp3,flac` (default: from -o\'s extension, WAV when it has none). Each file is OUT with that format\'s extension' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l quality -d 'Resampling: high (default; for files) or fast (much cheaper, audible aliasing)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l engine -d 'The engine: sidflow (ours, the default) or sidplayfp (the installed command)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -s o -l output -d 'Output file (required unless the render goes into the cache)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l cache-dir -d 'With --cache: the cache folder (default: the configured one)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l config -d 'With --cache: configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l cache -d 'Render into the render cache, or reuse the files already there (instead of -o)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -l force -d 'With --cache: render again even if the files are cached'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand render" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -l data-dir -d 'State folder holding the database (overrides `paths.data_dir`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -l cache-dir -d 'Cache folder (overrides `paths.cache_dir`); its index is then kept inside it' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -f -a "stats" -d 'Usage per format, disk usage and thresholds (the default)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -f -a "ls" -d 'List cached files (optionally only those under PREFIX, e.g. `MUSICIANS/H/`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -f -a "rebuild-index" -d 'Rebuild the index from the files in the cache folder'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and not __fish_seen_subcommand_from stats ls rebuild-index help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from stats" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from stats" -l data-dir -d 'State folder holding the database (overrides `paths.data_dir`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from stats" -l cache-dir -d 'Cache folder (overrides `paths.cache_dir`); its index is then kept inside it' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from ls" -l data-dir -d 'State folder holding the database (overrides `paths.data_dir`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from ls" -l cache-dir -d 'Cache folder (overrides `paths.cache_dir`); its index is then kept inside it' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from rebuild-index" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from rebuild-index" -l data-dir -d 'State folder holding the database (overrides `paths.data_dir`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from rebuild-index" -l cache-dir -d 'Cache folder (overrides `paths.cache_dir`); its index is then kept inside it' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from rebuild-index" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Usage per format, disk usage and thresholds (the default)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List cached files (optionally only those under PREFIX, e.g. `MUSICIANS/H/`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "rebuild-index" -d 'Rebuild the index from the files in the cache folder'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l host -d 'A device address to check (repeatable): host, host:port or IPv4' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l mdns-name -d 'A `<name>.local` host name to resolve with mDNS (repeatable)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l ident-port -d 'UDP port of the ident service (64 on devices)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l ident-target -d 'Also ask these ident addresses directly (repeatable, IP or IP:PORT)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l http-port -d 'REST port for devices found by ident or `.local` names (80 on devices)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l password -d 'Network password (sent as X-Password); also SIDFLOW_ULTIMATE_PASSWORD' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l window-ms -d 'How long to collect ident replies, in milliseconds' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l browse -d 'Browse mDNS `_http._tcp` services and check each (the firmware does not advertise today; simulators and future firmware may)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l no-broadcast -d 'Do not broadcast the ident request'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l no-probe -d 'Do not run the short stream probe that finds the wired address of a device that answers on several addresses'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -l json -d 'Print JSON instead of a table'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand devices" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l device -d 'The device: host, IPv4 or host:port' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l song -d 'Song number, 1-based (default: the tune\'s start song)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l seconds -d 'Seconds to record after the first sound (default: Songlengths.md5, else 180)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l songlengths -d 'HVSC Songlengths.md5 (length of the song; also sent to the device\'s player)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l chip -d 'SID to play on: device (leave its settings), real (the socket chip), ultisid-6581, ultisid-8580. Settings are restored afterwards and never saved to flash' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l margin -d 'Extra seconds recorded after the song length' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l rate -d 'Output sample rate in Hz (the stream is resampled from its true rate)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l password -d 'Network password (X-Password); also SIDFLOW_ULTIMATE_PASSWORD' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l port -d 'Local UDP port for the stream (default 11001)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l mode -d 'Force the stream rate: pal or ntsc (default: the device\'s System Mode)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l format -d 'Formats, e.g. `wav,flac` (default: from -o\'s extension)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -s o -l output -d 'Output file' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l data-dir -d 'State folder holding the database (overrides `paths.data_dir`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l cache-dir -d 'Cache folder (overrides `paths.cache_dir`); its index is then kept inside it' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l multicast -d 'Receive through the stream\'s multicast group (239.0.1.65) instead of unicast'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -l cache -d 'Store the render in the cache as the `c64u` variant instead of (or as well as) -o'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand capture" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l ip -d 'Address for REST, ident and the audio stream\'s source ("wired")' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l extra-ip -d 'More addresses answering REST and ident only (like a WiFi address)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l port -d 'REST port (0 = any free port; 80 needs root)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l ident-port -d 'UDP ident service port (64 on hardware, needs root)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l product -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l hostname -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l unique-id -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l password -d 'Require this network password (X-Password)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l loss -d 'Packet loss probability' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l reorder -d 'Probability a packet is sent after its successor' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l duplicate -d 'Probability a packet is sent twice' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l first-seq -d 'First sequence number: a number, or "random"' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l foreign-ip -d 'Send bogus copies from this address (same port) every --foreign-every packets' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l foreign-every -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l speed -d 'Pacing: 1.0 = the real rate; 10 = ten times faster; 0 = unpaced' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l tone -d 'Play a sine of this frequency while no tune is uploaded' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l seed -d 'Fault PRNG seed' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l ident-any -d 'Bind the ident service to 0.0.0.0 (answers broadcasts)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l ntsc -d 'NTSC system mode (audio at 47 940.341 Hz) instead of PAL (47 982.887 Hz)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -l mdns -d 'Advertise `<hostname>.local` with mDNS (on every interface: use a network namespace)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand sim-ultimate" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and not __fish_seen_subcommand_from devices play tone help" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and not __fish_seen_subcommand_from devices play tone help" -f -a "devices" -d 'List the ALSA playback devices (names for `lineout.device`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and not __fish_seen_subcommand_from devices play tone help" -f -a "play" -d 'Play audio files (WAV, FLAC, MP3) or SID tunes (rendered live) on the line-out, one after the other'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and not __fish_seen_subcommand_from devices play tone help" -f -a "tone" -d 'Play a sine test tone'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and not __fish_seen_subcommand_from devices play tone help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from devices" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -l song -d 'Song of a .sid tune (1-based; default: the tune\'s start song)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -s D -l device -d 'ALSA device (default: `lineout.device` of the configuration\'s defaults, `default`)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -l volume -d 'Volume, percent' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -l rate -d 'Device rate' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -l format -d 'Force a sample format (S16_LE, S32_LE, S24_LE, S24_3LE, FLOAT_LE)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -l mixer -d 'auto, hardware or software' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from play" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -l seconds -d 'Seconds' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -l freq -d 'Frequency in Hz' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -s D -l device -d 'ALSA device (default: `lineout.device` of the configuration\'s defaults, `default`)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -l volume -d 'Volume, percent' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -l rate -d 'Device rate' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -l format -d 'Force a sample format (S16_LE, S32_LE, S24_LE, S24_3LE, FLOAT_LE)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -l mixer -d 'auto, hardware or software' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from tone" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from help" -f -a "devices" -d 'List the ALSA playback devices (names for `lineout.device`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from help" -f -a "play" -d 'Play audio files (WAV, FLAC, MP3) or SID tunes (rendered live) on the line-out, one after the other'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from help" -f -a "tone" -d 'Play a sine test tone'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand lineout; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand setup-code" -l config -d 'Configuration file [default: /etc/sidflow/sidflow.toml, if it exists]' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand setup-code" -l data-dir -d 'State folder (overrides `paths.data_dir`)' -r -F
complete -c sidflowd -n "__fish_sidflowd_using_subcommand setup-code" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand hash-password" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand mdns-advertise" -l name -d 'Host label (`<name>.local`)' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand mdns-advertise" -l instance -d 'Service instance name' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand mdns-advertise" -l port -d 'HTTP port announced' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand mdns-advertise" -l interface -d 'Interface to advertise on (repeatable); default: all' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand mdns-advertise" -l seconds -d 'Seconds to keep advertising' -r
complete -c sidflowd -n "__fish_sidflowd_using_subcommand mdns-advertise" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "serve" -d 'Run the daemon: web UI, HTTP API, devices, line-out (the default)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "render" -d 'Render a .sid tune to audio files with the built-in engine'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "cache" -d 'Inspect the render cache'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "devices" -d 'List the C64 Ultimate devices discovery finds'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "capture" -d 'Play a tune on a C64 Ultimate and record its audio stream'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "sim-ultimate" -d 'Run a virtual Ultimate 64 (a simulator) for tests and demos'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "lineout" -d 'ALSA line-out tools'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "setup-code" -d 'Print the one-time code that first-run setup in /admin asks for'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "hash-password" -d 'Read a password from stdin and print its argon2 hash (for `admin.password_hash`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "mdns-advertise" -d 'Advertise over mDNS without serving (for the Avahi interoperability test)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "generate-docs" -d 'Write the man pages and shell completions (packaging/man, packaging/completions)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and not __fish_seen_subcommand_from serve render cache devices capture sim-ultimate lineout setup-code hash-password mdns-advertise generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "stats" -d 'Usage per format, disk usage and thresholds (the default)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "ls" -d 'List cached files (optionally only those under PREFIX, e.g. `MUSICIANS/H/`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "rebuild-index" -d 'Rebuild the index from the files in the cache folder'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and __fish_seen_subcommand_from lineout" -f -a "devices" -d 'List the ALSA playback devices (names for `lineout.device`)'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and __fish_seen_subcommand_from lineout" -f -a "play" -d 'Play audio files (WAV, FLAC, MP3) or SID tunes (rendered live) on the line-out, one after the other'
complete -c sidflowd -n "__fish_sidflowd_using_subcommand help; and __fish_seen_subcommand_from lineout" -f -a "tone" -d 'Play a sine test tone'
