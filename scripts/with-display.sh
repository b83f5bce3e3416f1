#!/bin/sh
# Run a command with an X display: headless-gl (the WebGL backend) needs one. Uses the
# current DISPLAY when set, else a virtual one from xvfb-run.
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24" "$@"
fi
exec "$@"
