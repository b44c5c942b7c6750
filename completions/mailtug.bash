_mailtug() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="mailtug"
                ;;
            mailtug,auth)
                cmd="mailtug__subcmd__auth"
                ;;
            mailtug,bulk)
                cmd="mailtug__subcmd__bulk"
                ;;
            mailtug,config)
                cmd="mailtug__subcmd__config"
                ;;
            mailtug,copy)
                cmd="mailtug__subcmd__copy"
                ;;
            mailtug,help)
                cmd="mailtug__subcmd__help"
                ;;
            mailtug,ls)
                cmd="mailtug__subcmd__ls"
                ;;
            mailtug,mirror)
                cmd="mailtug__subcmd__mirror"
                ;;
            mailtug,plan)
                cmd="mailtug__subcmd__plan"
                ;;
            mailtug,report)
                cmd="mailtug__subcmd__report"
                ;;
            mailtug,run)
                cmd="mailtug__subcmd__run"
                ;;
            mailtug,state)
                cmd="mailtug__subcmd__state"
                ;;
            mailtug,verify)
                cmd="mailtug__subcmd__verify"
                ;;
            mailtug__subcmd__auth,help)
                cmd="mailtug__subcmd__auth__subcmd__help"
                ;;
            mailtug__subcmd__auth,login)
                cmd="mailtug__subcmd__auth__subcmd__login"
                ;;
            mailtug__subcmd__auth,logout)
                cmd="mailtug__subcmd__auth__subcmd__logout"
                ;;
            mailtug__subcmd__auth,status)
                cmd="mailtug__subcmd__auth__subcmd__status"
                ;;
            mailtug__subcmd__auth__subcmd__help,help)
                cmd="mailtug__subcmd__auth__subcmd__help__subcmd__help"
                ;;
            mailtug__subcmd__auth__subcmd__help,login)
                cmd="mailtug__subcmd__auth__subcmd__help__subcmd__login"
                ;;
            mailtug__subcmd__auth__subcmd__help,logout)
                cmd="mailtug__subcmd__auth__subcmd__help__subcmd__logout"
                ;;
            mailtug__subcmd__auth__subcmd__help,status)
                cmd="mailtug__subcmd__auth__subcmd__help__subcmd__status"
                ;;
            mailtug__subcmd__config,check)
                cmd="mailtug__subcmd__config__subcmd__check"
                ;;
            mailtug__subcmd__config,help)
                cmd="mailtug__subcmd__config__subcmd__help"
                ;;
            mailtug__subcmd__config__subcmd__help,check)
                cmd="mailtug__subcmd__config__subcmd__help__subcmd__check"
                ;;
            mailtug__subcmd__config__subcmd__help,help)
                cmd="mailtug__subcmd__config__subcmd__help__subcmd__help"
                ;;
            mailtug__subcmd__help,auth)
                cmd="mailtug__subcmd__help__subcmd__auth"
                ;;
            mailtug__subcmd__help,bulk)
                cmd="mailtug__subcmd__help__subcmd__bulk"
                ;;
            mailtug__subcmd__help,config)
                cmd="mailtug__subcmd__help__subcmd__config"
                ;;
            mailtug__subcmd__help,copy)
                cmd="mailtug__subcmd__help__subcmd__copy"
                ;;
            mailtug__subcmd__help,help)
                cmd="mailtug__subcmd__help__subcmd__help"
                ;;
            mailtug__subcmd__help,ls)
                cmd="mailtug__subcmd__help__subcmd__ls"
                ;;
            mailtug__subcmd__help,mirror)
                cmd="mailtug__subcmd__help__subcmd__mirror"
                ;;
            mailtug__subcmd__help,plan)
                cmd="mailtug__subcmd__help__subcmd__plan"
                ;;
            mailtug__subcmd__help,report)
                cmd="mailtug__subcmd__help__subcmd__report"
                ;;
            mailtug__subcmd__help,run)
                cmd="mailtug__subcmd__help__subcmd__run"
                ;;
            mailtug__subcmd__help,state)
                cmd="mailtug__subcmd__help__subcmd__state"
                ;;
            mailtug__subcmd__help,verify)
                cmd="mailtug__subcmd__help__subcmd__verify"
                ;;
            mailtug__subcmd__help__subcmd__auth,login)
                cmd="mailtug__subcmd__help__subcmd__auth__subcmd__login"
                ;;
            mailtug__subcmd__help__subcmd__auth,logout)
                cmd="mailtug__subcmd__help__subcmd__auth__subcmd__logout"
                ;;
            mailtug__subcmd__help__subcmd__auth,status)
                cmd="mailtug__subcmd__help__subcmd__auth__subcmd__status"
                ;;
            mailtug__subcmd__help__subcmd__config,check)
                cmd="mailtug__subcmd__help__subcmd__config__subcmd__check"
                ;;
            mailtug__subcmd__help__subcmd__report,merge)
                cmd="mailtug__subcmd__help__subcmd__report__subcmd__merge"
                ;;
            mailtug__subcmd__help__subcmd__state,forget)
                cmd="mailtug__subcmd__help__subcmd__state__subcmd__forget"
                ;;
            mailtug__subcmd__help__subcmd__state,list)
                cmd="mailtug__subcmd__help__subcmd__state__subcmd__list"
                ;;
            mailtug__subcmd__help__subcmd__state,show)
                cmd="mailtug__subcmd__help__subcmd__state__subcmd__show"
                ;;
            mailtug__subcmd__report,help)
                cmd="mailtug__subcmd__report__subcmd__help"
                ;;
            mailtug__subcmd__report,merge)
                cmd="mailtug__subcmd__report__subcmd__merge"
                ;;
            mailtug__subcmd__report__subcmd__help,help)
                cmd="mailtug__subcmd__report__subcmd__help__subcmd__help"
                ;;
            mailtug__subcmd__report__subcmd__help,merge)
                cmd="mailtug__subcmd__report__subcmd__help__subcmd__merge"
                ;;
            mailtug__subcmd__state,forget)
                cmd="mailtug__subcmd__state__subcmd__forget"
                ;;
            mailtug__subcmd__state,help)
                cmd="mailtug__subcmd__state__subcmd__help"
                ;;
            mailtug__subcmd__state,list)
                cmd="mailtug__subcmd__state__subcmd__list"
                ;;
            mailtug__subcmd__state,show)
                cmd="mailtug__subcmd__state__subcmd__show"
                ;;
            mailtug__subcmd__state__subcmd__help,forget)
                cmd="mailtug__subcmd__state__subcmd__help__subcmd__forget"
                ;;
            mailtug__subcmd__state__subcmd__help,help)
                cmd="mailtug__subcmd__state__subcmd__help__subcmd__help"
                ;;
            mailtug__subcmd__state__subcmd__help,list)
                cmd="mailtug__subcmd__state__subcmd__help__subcmd__list"
                ;;
            mailtug__subcmd__state__subcmd__help,show)
                cmd="mailtug__subcmd__state__subcmd__help__subcmd__show"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        mailtug)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version copy mirror plan ls verify state run config bulk report auth help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version login status logout help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__help)
            opts="login status logout help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__help__subcmd__login)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__help__subcmd__logout)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__help__subcmd__status)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__login)
            opts="-q -v -c -h -V --provider --user --client-id --client-secret-file --client-secret-env --tenant --flow --no-browser --timeout --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --provider)
                    COMPREPLY=($(compgen -W "google microsoft" -- "${cur}"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --client-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --client-secret-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --client-secret-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tenant)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --flow)
                    COMPREPLY=($(compgen -W "browser device" -- "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__logout)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__auth__subcmd__status)
            opts="-q -v -c -h -V --check --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__bulk)
            opts="-q -v -c -h -V --accounts --max-connections-per-host --jobs --report --skip-completed --mirror --retries --retry-wait --shard --shards --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --accounts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-connections-per-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --jobs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --report)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retries)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-wait)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --shard)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --shards)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__config)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version check help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__config__subcmd__check)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__config__subcmd__help)
            opts="check help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__config__subcmd__help__subcmd__check)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__config__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__copy)
            opts="-n -j -q -v -c -h -V --folder --exclude --map --all-namespaces --merge --no-dedup --dry-run --jobs --retries --delete-source --delete-after --max-messages --max-bytes --since --before --max-size --no-special-use-map --state --src-maildir-layout --dst-maildir-layout --max-bytes-per-second --max-messages-per-second --src-max-bytes-per-day --dst-max-bytes-per-day --src-provider --dst-provider --gmail-labels --src-user --src-admin --src-password-file --src-password-env --src-password-command --src-auth --src-ca-file --dst-user --dst-admin --dst-password-file --dst-password-env --dst-password-command --dst-auth --dst-ca-file --ca-file --insecure --tls --timeout --mbox-format --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --folder)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --exclude)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --map)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --jobs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -j)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retries)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --delete-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-messages)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --since)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --before)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --dst-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --max-bytes-per-second)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-messages-per-second)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-max-bytes-per-day)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-max-bytes-per-day)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-provider)
                    COMPREPLY=($(compgen -W "gmail microsoft none" -- "${cur}"))
                    return 0
                    ;;
                --dst-provider)
                    COMPREPLY=($(compgen -W "gmail microsoft none" -- "${cur}"))
                    return 0
                    ;;
                --gmail-labels)
                    COMPREPLY=($(compgen -W "folders keywords all-mail" -- "${cur}"))
                    return 0
                    ;;
                --src-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer user apop" -- "${cur}"))
                    return 0
                    ;;
                --src-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer" -- "${cur}"))
                    return 0
                    ;;
                --dst-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls)
                    COMPREPLY=($(compgen -W "required none" -- "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mbox-format)
                    COMPREPLY=($(compgen -W "auto mboxrd mboxo mboxcl2" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help)
            opts="copy mirror plan ls verify state run config bulk report auth help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__auth)
            opts="login status logout"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__auth__subcmd__login)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__auth__subcmd__logout)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__auth__subcmd__status)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__bulk)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__config)
            opts="check"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__config__subcmd__check)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__copy)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__ls)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__mirror)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__plan)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__report)
            opts="merge"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__report__subcmd__merge)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__run)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__state)
            opts="list show forget"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__state__subcmd__forget)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__state__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__state__subcmd__show)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__help__subcmd__verify)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__ls)
            opts="-q -v -c -h -V --all-namespaces --src-maildir-layout --src-user --src-admin --src-password-file --src-password-env --src-password-command --src-auth --src-ca-file --ca-file --insecure --tls --timeout --mbox-format --dst-user --dst-admin --dst-password-file --dst-password-env --dst-password-command --dst-auth --dst-ca-file --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --src-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --src-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer user apop" -- "${cur}"))
                    return 0
                    ;;
                --src-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls)
                    COMPREPLY=($(compgen -W "required none" -- "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mbox-format)
                    COMPREPLY=($(compgen -W "auto mboxrd mboxo mboxcl2" -- "${cur}"))
                    return 0
                    ;;
                --dst-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer" -- "${cur}"))
                    return 0
                    ;;
                --dst-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__mirror)
            opts="-n -j -q -v -c -h -V --folder --exclude --map --all-namespaces --merge --no-dedup --dry-run --jobs --retries --delete-source --delete-after --max-messages --max-bytes --since --before --max-size --no-special-use-map --state --src-maildir-layout --dst-maildir-layout --max-bytes-per-second --max-messages-per-second --src-max-bytes-per-day --dst-max-bytes-per-day --src-provider --dst-provider --gmail-labels --src-user --src-admin --src-password-file --src-password-env --src-password-command --src-auth --src-ca-file --dst-user --dst-admin --dst-password-file --dst-password-env --dst-password-command --dst-auth --dst-ca-file --ca-file --insecure --tls --timeout --mbox-format --delete --max-delete --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --folder)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --exclude)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --map)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --jobs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -j)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retries)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --delete-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-messages)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --since)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --before)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --dst-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --max-bytes-per-second)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-messages-per-second)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-max-bytes-per-day)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-max-bytes-per-day)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-provider)
                    COMPREPLY=($(compgen -W "gmail microsoft none" -- "${cur}"))
                    return 0
                    ;;
                --dst-provider)
                    COMPREPLY=($(compgen -W "gmail microsoft none" -- "${cur}"))
                    return 0
                    ;;
                --gmail-labels)
                    COMPREPLY=($(compgen -W "folders keywords all-mail" -- "${cur}"))
                    return 0
                    ;;
                --src-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer user apop" -- "${cur}"))
                    return 0
                    ;;
                --src-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer" -- "${cur}"))
                    return 0
                    ;;
                --dst-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls)
                    COMPREPLY=($(compgen -W "required none" -- "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mbox-format)
                    COMPREPLY=($(compgen -W "auto mboxrd mboxo mboxcl2" -- "${cur}"))
                    return 0
                    ;;
                --delete)
                    COMPREPLY=($(compgen -W "expunge trash" -- "${cur}"))
                    return 0
                    ;;
                --max-delete)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__plan)
            opts="-j -n -q -v -c -h -V --folder --exclude --map --all-namespaces --merge --no-dedup --jobs --retries --delete-source --delete-after --max-messages --max-bytes --since --before --max-size --no-special-use-map --state --src-maildir-layout --dst-maildir-layout --max-bytes-per-second --max-messages-per-second --src-max-bytes-per-day --dst-max-bytes-per-day --src-provider --dst-provider --gmail-labels --src-user --src-admin --src-password-file --src-password-env --src-password-command --src-auth --src-ca-file --dst-user --dst-admin --dst-password-file --dst-password-env --dst-password-command --dst-auth --dst-ca-file --ca-file --insecure --tls --timeout --mbox-format --dry-run --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --folder)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --exclude)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --map)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --jobs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -j)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retries)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --delete-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-messages)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-bytes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --since)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --before)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --dst-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --max-bytes-per-second)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-messages-per-second)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-max-bytes-per-day)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-max-bytes-per-day)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-provider)
                    COMPREPLY=($(compgen -W "gmail microsoft none" -- "${cur}"))
                    return 0
                    ;;
                --dst-provider)
                    COMPREPLY=($(compgen -W "gmail microsoft none" -- "${cur}"))
                    return 0
                    ;;
                --gmail-labels)
                    COMPREPLY=($(compgen -W "folders keywords all-mail" -- "${cur}"))
                    return 0
                    ;;
                --src-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer user apop" -- "${cur}"))
                    return 0
                    ;;
                --src-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer" -- "${cur}"))
                    return 0
                    ;;
                --dst-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls)
                    COMPREPLY=($(compgen -W "required none" -- "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mbox-format)
                    COMPREPLY=($(compgen -W "auto mboxrd mboxo mboxcl2" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__report)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version merge help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__report__subcmd__help)
            opts="merge help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__report__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__report__subcmd__help__subcmd__merge)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__report__subcmd__merge)
            opts="-q -v -c -h -V --into --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --into)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__run)
            opts="-q -v -c -h -V --all --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version list show forget help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__forget)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__help)
            opts="list show forget help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__help__subcmd__forget)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__help__subcmd__show)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__list)
            opts="-q -v -c -h -V --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__state__subcmd__show)
            opts="-q -v -c -h -V --messages --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        mailtug__subcmd__verify)
            opts="-q -v -c -h -V --content --folder --exclude --map --all-namespaces --merge --src-maildir-layout --dst-maildir-layout --src-user --src-admin --src-password-file --src-password-env --src-password-command --src-auth --src-ca-file --dst-user --dst-admin --dst-password-file --dst-password-env --dst-password-command --dst-auth --dst-ca-file --ca-file --insecure --tls --timeout --mbox-format --json --quiet --progress --no-progress --verbose --config --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --folder)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --exclude)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --map)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --dst-maildir-layout)
                    COMPREPLY=($(compgen -W "auto maildir++ fs" -- "${cur}"))
                    return 0
                    ;;
                --src-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --src-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer user apop" -- "${cur}"))
                    return 0
                    ;;
                --src-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-admin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-env)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-password-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dst-auth)
                    COMPREPLY=($(compgen -W "auto login plain xoauth2 oauthbearer" -- "${cur}"))
                    return 0
                    ;;
                --dst-ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ca-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls)
                    COMPREPLY=($(compgen -W "required none" -- "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mbox-format)
                    COMPREPLY=($(compgen -W "auto mboxrd mboxo mboxcl2" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _mailtug -o nosort -o bashdefault -o default mailtug
else
    complete -F _mailtug -o bashdefault -o default mailtug
fi
