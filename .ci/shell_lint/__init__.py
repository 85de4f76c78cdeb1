"""The parts of ``.ci/shellcheck_scripts.py``, which runs shellcheck on every shell script the CI systems run.

- ``workflows``: GitHub Actions ``run:`` steps, as actionlint's shellcheck rule checks them;
- ``gitlab``: ``.gitlab-ci.yml`` job scripts, with ``extends``, ``default:`` and ``!reference`` resolved;
- ``script_files``: shell scripts tracked by git;
- ``script`` and ``located_yaml``: what is checked, and how a finding maps back to the line of the file;
- ``shellcheck``: running shellcheck and reporting its findings; ``errors``: the check that could not run.
"""
