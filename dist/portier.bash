# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for portier(8)
_portier()
{
	local cur prev words cword
	_init_completion || return

	local cmds="load unload status service register unregister services bind unbind
		bindings policy unpolicy policies watch unwatch stats top exporter explain
		apply dump version help steer unsteer steers"
	local i cmd="" nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--netns) ((i++)) ;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then cmd=${words[i]}; else ((nargs++)); fi
			;;
		esac
	done

	case $prev in
	--netns)
		COMPREPLY=($(compgen -W "$(ip netns list 2>/dev/null | awk '{print $1}')" -- "$cur"))
		return ;;
	--xdp)
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return ;;
	--xdp-mode) COMPREPLY=($(compgen -W "auto native skb" -- "$cur")); return ;;
	--proto) COMPREPLY=($(compgen -W "tcp udp" -- "$cur")); return ;;
	--pid) COMPREPLY=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur")); return ;;
	--service)
		COMPREPLY=($(compgen -W "$(portier --json services 2>/dev/null | sed -n 's/.*"name":"\([^"]*\)".*/\1/p' | tr ',' '\n')" -- "$cur"))
		return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --json --debug --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		fi
		return
	fi
	local opts=""
	case $cmd in
	load) opts="--xdp --xdp-mode --force" ;;
	service) [[ $nargs -eq 0 ]] && COMPREPLY=($(compgen -W "add del" -- "$cur")); opts="--desc" ;;
	register) opts="--pid --fd --proto --addr --all --xsk --ifname --queue" ;;
	unregister) opts="--proto" ;;
	bind | unbind | policy | unpolicy | watch | unwatch | explain)
		[[ $nargs -eq 0 ]] && COMPREPLY=($(compgen -W "tcp udp" -- "$cur"))
		[[ $cmd == policy && $nargs -eq 2 ]] &&
			COMPREPLY=($(compgen -W "allow drop drop-new limit" -- "$cur"))
		[[ $cmd == policy || $cmd == unpolicy || $cmd == explain ]] && opts="--from"
		;;
	steer | unsteer)
		[[ $nargs -eq 0 ]] && COMPREPLY=($(compgen -W "tcp udp" -- "$cur"))
		[[ $cmd == steer && $nargs -eq 2 ]] && COMPREPLY=($(compgen -W "cpus" -- "$cur"))
		[[ $cmd == steer && $nargs -eq 3 ]] &&
			COMPREPLY=($(compgen -W "$(cat /sys/devices/system/cpu/online 2>/dev/null)" -- "$cur"))
		;;
	stats) opts="--proto --port --service --exact" ;;
	top) opts="--interval" ;;
	exporter) opts="--listen" ;;
	apply) opts="--check --watch --debounce"; [[ $cur != -* ]] && _filedir ;;
	esac
	[[ $cur == -* ]] && COMPREPLY+=($(compgen -W "$opts" -- "$cur"))
} &&
	complete -F _portier portier
