# bash completion for oci-run (installed as .../bash-completion/completions/oci-run)
_oci_run() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local commands="create start exec run state kill delete list ps pause resume update events spec features help"
  local globals="--root --log --log-format --debug --systemd-cgroup --rootless --version --help"
  local i cmd="" root=()
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --root) root=(--root "${words[i + 1]}"); ((i++)) ;;
      --log | --log-format | --rootless) ((i++)) ;;
      -*) ;;
      *) cmd=${words[i]}; break ;;
    esac
  done
  case $prev in
    --root | -b | --bundle | --log | --pid-file | --console-socket | -p | --process | -r | --resources)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    --log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
    --rootless) COMPREPLY=($(compgen -W "true false auto" -- "$cur")); return ;;
  esac
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$globals" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return
  fi
  if [[ $cur == -* ]]; then
    # The command's own options, from its --help.
    local opts
    opts=$(oci-run "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  case $cmd in
    help) COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
    start | exec | state | kill | delete | ps | pause | resume | update | events)
      COMPREPLY=($(compgen -W "$(oci-run "${root[@]}" list -q 2>/dev/null)" -- "$cur")) ;;
  esac
}
complete -F _oci_run oci-run
