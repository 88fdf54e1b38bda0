"""python -m scanner"""

from scanner.cli import main

if __name__ == "__main__":  # NER worker processes import this module too
    main()
