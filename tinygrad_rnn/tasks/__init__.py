"""Generators for the toy tasks of the notes and the demos (no downloads, seeded)."""

from tinygrad_rnn.tasks.adding import adding_problem
from tinygrad_rnn.tasks.copying import copy_task
from tinygrad_rnn.tasks.dates import date_pairs
from tinygrad_rnn.tasks.sentiment import sentiment_sentences
from tinygrad_rnn.tasks.slots import slot_filling_sentences
from tinygrad_rnn.tasks.text import text_corpus
from tinygrad_rnn.tasks.trees import random_trees

__all__ = ["adding_problem", "copy_task", "date_pairs", "sentiment_sentences",
           "slot_filling_sentences", "text_corpus", "random_trees"]
