# Written by `workbench serve` from assets/templates/dependencies.sh: how the project's
# dependency image is made. A container of the base image, with no network, runs these
# commands with the lock and its wheels in /build: the lock is installed from those wheels
# only, every one checked by hash, and compiled; the venv's own pip and setuptools are
# removed unless the lock pins them (as torch's requirement does). The container is then
# committed as one layer, /opt/venv (nothing of /build), shared by every project with the
# same lock, wheels and base image; the image's own build starts FROM it and is sent no
# wheels. The project's labels go on top (the Dockerfile beside this file).
python3 -m venv /opt/venv
/opt/venv/bin/python -m pip install --no-cache-dir --no-compile --disable-pip-version-check --require-hashes --no-index --find-links /build/wheels -r /build/environment.lock
{drop_venv_tools}
/opt/venv/bin/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash -x '/(tests?|testing)/' /opt/venv/lib
rm -rf /build
