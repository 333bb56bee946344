# Shell helpers shared by the project's scripts (sourced, not run).

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# venv_install VENV REQUIREMENTS: creates the virtualenv when missing and installs the pinned
# requirements once per content of the requirements file (a stamp file records it).
venv_install() {
  local venv="$1" req="$2"
  if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  local stamp
  stamp="$venv/.installed-$(sha256sum "$req" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    touch "$stamp"
  fi
}
