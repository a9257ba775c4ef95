#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line

    from config.preflight import require_services

    require_services(sys.argv)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
