# Narration shared by the demos (sourced, not run): chapter, say, show, fail.
# The sourcing script sets $work (its scratch directory, shown as $DEMO) and
# $bin (the build's bin directory, left out of the commands shown).
bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'
[[ -t 1 ]] || { bold='' dim='' reset=''; }
chapter() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$reset"; }
say() { printf '%s\n' "$*"; }
# show CMD...: prints the command (paths shortened) on stderr, so that show
# stays usable inside $(...), then runs it.
show() {
  local text="$*"
  text=${text//$work/\$DEMO}
  text=${text//$bin\//}
  text=${text/#mpi /mpirun }
  printf '%s$ %s%s\n' "$dim" "$text" "$reset" >&2
  "$@"
}
fail() { echo "demo: FAILED: $*" >&2; exit 1; }
