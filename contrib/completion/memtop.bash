# memtop.bash - bash completion of memtop(1): its options, process ids
# for --attach, file names for the options that write files, directories
# for --trace and for `memtop report`, and after COMMAND (or --) the
# command's own completion.
#
# Installed as bash-completion/completions/memtop, which bash-completion
# loads on first use; or source it by hand.  Needs plain bash only (compgen):
# the helpers of the bash-completion package are used when present.

# The options of src/options.c (and memtop --help), long then short.
_memtop_options="--export --trace --batch --json --output --interval --duration
--sample-small --sample-medium --sample-large --medium-threshold --large-threshold
--frequency-threshold --stack-depth --no-stacks --collapsed --pprof --attach
--overwrite-trace --force --help --version -e -t -b -o -d -h -V"

# Options that take a value (the value is the next word, or after '=').
_memtop_with_value="--export|--trace|--output|--interval|--duration|--sample-small|--sample-medium|--sample-large|--medium-threshold|--large-threshold|--frequency-threshold|--stack-depth|--collapsed|--pprof|--attach|-e|-t|-o|-d"

# COMPREPLY gets the files (or with -d, the directories) that start with $1.
_memtop_files()
{
	local IFS=$'\n'
	if [[ $2 == -d ]]; then
		COMPREPLY=($(compgen -d -- "$1"))
	else
		COMPREPLY=($(compgen -f -- "$1"))
	fi
	# Let bash add a slash to directories and quote what needs quoting.
	compopt -o filenames 2>/dev/null
}

# Ids of the processes this user may watch, with their names in /proc.
_memtop_pids()
{
	local pids=() d
	for d in /proc/[0-9]*; do
		[[ -O $d ]] || [[ $EUID -eq 0 ]] || continue
		pids+=("${d#/proc/}")
	done
	COMPREPLY=($(compgen -W "${pids[*]}" -- "$1"))
}

# Complete the value of option $1, the current word being $2.
_memtop_value()
{
	case $1 in
	--attach)
		_memtop_pids "$2" ;;
	--trace|-t)
		_memtop_files "$2" -d ;;
	--export|-e|--output|-o|--collapsed|--pprof)
		_memtop_files "$2" ;;
	*)
		COMPREPLY=() ;;  # a number: nothing to offer
	esac
}

_memtop()
{
	local cur prev i word report=0 cmd_at=0
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	# Where COMMAND starts (after --, or the first non-option word), and
	# whether this is `memtop report`.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $word == -- ]]; then
			cmd_at=$((i + 1))
			break
		fi
		if [[ $word == -* ]]; then
			# bash splits "--output=FILE" at '=' (COMP_WORDBREAKS)
			if [[ $word =~ ^($_memtop_with_value)$ ]]; then
				[[ ${COMP_WORDS[i+1]} == = ]] && ((i++))
				((i++))
			fi
			continue
		fi
		if [[ $word == report && $report -eq 0 ]]; then
			report=1
			continue
		fi
		[[ $report -eq 1 ]] && continue  # the trace directory
		cmd_at=$i
		break
	done

	if ((cmd_at > 0)); then
		if ((cmd_at == COMP_CWORD)); then
			COMPREPLY=($(compgen -c -- "$cur"))
		elif declare -F _command_offset >/dev/null; then
			_command_offset "$cmd_at"  # bash-completion: the command's own
		else
			_memtop_files "$cur"
		fi
		return 0
	fi

	# "--output=FILE": one word, or split at '=' into three
	if [[ $cur == --*=* ]]; then
		_memtop_value "${cur%%=*}" "${cur#*=}"
		return 0
	fi
	if [[ $cur == = && $prev =~ ^($_memtop_with_value)$ ]]; then
		_memtop_value "$prev" ""
		return 0
	fi
	if [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		_memtop_value "${COMP_WORDS[COMP_CWORD-2]}" "$cur"
		return 0
	fi
	if [[ $prev =~ ^($_memtop_with_value)$ ]]; then
		_memtop_value "$prev" "$cur"
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_memtop_options" -- "$cur"))
		return 0
	fi
	if [[ $report -eq 1 ]]; then
		_memtop_files "$cur" -d  # memtop report TRACE_DIR
		return 0
	fi
	# The first word: `report`, or a command to run.
	COMPREPLY=($(compgen -W "report" -- "$cur") $(compgen -c -- "$cur"))
	return 0
}

complete -F _memtop memtop
