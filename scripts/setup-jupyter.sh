#!/usr/bin/env bash
# Installs the Jupyter parts Llama Lab uses, from Debian/Ubuntu packages.
set -euo pipefail
packages=(jupyter-notebook jupyter-client jupyter-nbconvert python3-nbclient python3-nbconvert python3-jupyter-kernel-test python3-jupyter-server chromium)
if ! command -v apt-get >/dev/null; then
  echo "setup-jupyter: no apt-get here. Install Jupyter another way, e.g. 'pip install notebook nbconvert nbclient jupyter_server jupyter_kernel_test', and Chromium for the browser test." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
echo "setup-jupyter: installed ${packages[*]}"
