"""``python -m nasbench`` is the ``nasbench`` command."""

from nasbench.cli import main

if __name__ == "__main__":
    main()
