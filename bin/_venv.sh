# The one way bin/demo, bin/test, bin/lint and .ci/run make and reuse a virtualenv.
# Sourced, not run, from the repository root by a script that defines say() for messages:
#
#   ensure_venv VENV PYTHON PIP_INSTALL_ARGS...
#
# makes VENV with PYTHON, which must be Python 3.11+ (a VENV that has another version
# of Python is made anew), and runs "pip install PIP_INSTALL_ARGS..." in it whenever
# the stamp kept in VENV/.install-stamp changed: a hash of PYTHON's version and prefix,
# the arguments, pyproject.toml and setup.cfg. On any failure it says why and returns
# non-zero, also where set -e is off (inside an "if", say).

export PIP_DISABLE_PIP_VERSION_CHECK=1

venv_stamp() {  # venv_stamp PYTHON PIP_INSTALL_ARGS...: prints the stamp
    local python=$1 about
    shift
    about=$("$python" -c 'import sys; print(sys.version.split()[0]); print(sys.prefix)') ||
        return 1
    {
        printf '%s\n' "$about" "$@"
        cat pyproject.toml
        if [ -f setup.cfg ]; then cat setup.cfg; fi
    } | sha256sum | cut -d' ' -f1
}

ensure_venv() {  # ensure_venv VENV PYTHON PIP_INSTALL_ARGS...
    local venv=$1 python=$2 version venv_version stamp
    shift 2
    if ! command -v "$python" >/dev/null 2>&1; then
        say "interpreter '$python' not found (set PYTHON=/path/to/python3.11+)"
        return 1
    fi
    if ! version=$("$python" -c 'import sys; print(sys.version.split()[0])'); then
        say "interpreter '$python' does not run"
        return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        say "Python >= 3.11 is required, '$python' is $version"
        return 1
    fi
    stamp=$(venv_stamp "$python" "$@") || return 1

    if [ -x "$venv/bin/python" ]; then
        venv_version=$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])' \
            2>/dev/null) || venv_version=""
        if [ "$venv_version" != "$version" ]; then
            say "recreating $venv (it has Python ${venv_version:-?}, wanted $version)"
            rm -rf "$venv" || return 1
        fi
    fi
    if [ ! -x "$venv/bin/python" ]; then
        say "creating $venv with $python ($version)"
        "$python" -m venv "$venv" || return 1
    fi

    if [ -f "$venv/.install-stamp" ] && [ "$(cat "$venv/.install-stamp")" = "$stamp" ]; then
        say "$venv is up to date"
        return 0
    fi
    say "installing $* into $venv"
    rm -f "$venv/.install-stamp"
    "$venv/bin/python" -m pip install --quiet "$@" || return 1
    echo "$stamp" >"$venv/.install-stamp"
}
