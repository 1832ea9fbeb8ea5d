import sys

from models.ner.cli import main

main(sys.argv[1:])
