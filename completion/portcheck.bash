# SPDX-License-Identifier: MIT
# bash completion for portcheck(1)

# Firewalld names (zones, services) from its config directories: no D-Bus round trip,
# works when firewalld is not running.
_portcheck_firewalld_names()
{
	local kind=$1 d f names=()
	for d in /usr/lib/firewalld/"$kind" /etc/firewalld/"$kind"; do
		for f in "$d"/*.xml; do
			[[ -e $f ]] || continue
			f=${f##*/}
			names+=("${f%.xml}")
		done
	done
	printf '%s\n' "${names[@]}"
}

# PORT/PROTO of the sockets listening now.
_portcheck_listening()
{
	command -v ss >/dev/null 2>&1 || return 0
	ss -Hlntu 2>/dev/null | while read -r proto _ _ _ local _; do
		printf '%s/%s\n' "${local##*:}" "$proto"
	done | sort -u -n
}

_portcheck()
{
	local cur prev words cword
	_init_completion || return

	local commands='status explain open close check'
	local global='--socket --json --help --version'
	local -A opts=(
		[status]='--fresh'
		[explain]='--from --iface --to'
		[open]='--zone --permanent --timeout --dry-run'
		[close]='--zone --permanent --dry-run'
		[check]='--quiet --textfile --nagios --config'
	)

	case $prev in
	--socket | --textfile | --config)
		_filedir
		return
		;;
	--iface)
		_available_interfaces
		return
		;;
	--zone)
		COMPREPLY=($(compgen -W "$(_portcheck_firewalld_names zones)" -- "$cur"))
		return
		;;
	--timeout)
		COMPREPLY=($(compgen -W '30s 5m 10m 1h 1d' -- "$cur"))
		return
		;;
	--from | --to)
		# An address: nothing sensible to offer.
		return
		;;
	--help | --version)
		return
		;;
	esac

	# The command is the first word that is not an option or an option's argument.
	local i command='' nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | --textfile | --config | --iface | --zone | --timeout | --from | --to)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $command ]]; then
				command=${words[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done

	if [[ -z $command ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${opts[$command]-} --socket --json" -- "$cur"))
		return
	fi
	((nargs == 0)) || return
	case $command in
	explain)
		COMPREPLY=($(compgen -W "$(_portcheck_listening)" -- "$cur"))
		;;
	open | close)
		COMPREPLY=($(compgen -W "$(_portcheck_listening) $(_portcheck_firewalld_names services)" -- "$cur"))
		;;
	esac
} &&
	complete -F _portcheck portcheck

# ex: filetype=sh
