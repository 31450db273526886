"""``khabar chat``: questions in a terminal that follow the conversation.

Each question is asked with the conversation's earlier questions (``Khabar.ask(history=…)``),
so "And about the economy?" after "What did Putin say about Israel?" is searched as the
follow-up it is. Line editing and the history of past lines come from ``readline`` when the
input is a terminal. Commands: ``/new`` starts a new conversation, ``/k N`` sets how many
passages, ``/help``; Ctrl-D (or ``/quit``) leaves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TextIO

from khabar.config import MAX_K
from khabar.errors import KhabarError
from khabar.followup import MAX_HISTORY
from khabar.records import Answer
from khabar.terminal import print_answer

HELP = (
    'Ask in English or Arabic; a follow-up ("and who did he meet?") is searched with the '
    "questions before it.\n"
    "  /new    start a new conversation\n"
    "  /k N    show N passages (now {k})\n"
    "  /help   this help\n"
    "  Ctrl-D  leave (or /quit)"
)

Ask = Callable[[str, int, Sequence[str]], Answer]


class Conversation:
    """The questions asked so far (the latest ``MAX_HISTORY``), and ``k``."""

    def __init__(self, k: int = 5) -> None:
        self.k = k
        self.questions: list[str] = []

    def handle(self, line: str, ask: Ask, out: TextIO) -> bool:
        """One line typed: a command or a question; False when the person leaves."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self._command(line, out)
        try:
            answer = ask(line, self.k, tuple(self.questions))
        except KhabarError as exc:
            print(f"khabar: {exc}", file=out)
            return True
        if answer.searched:
            print(f"(searched: {answer.searched})", file=out)
        print_answer(answer, out)
        self.questions = [*self.questions, line][-MAX_HISTORY:]
        return True

    def _command(self, line: str, out: TextIO) -> bool:
        name, _, arg = line.partition(" ")
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/new":
            self.questions = []
            print("(a new conversation)", file=out)
        elif name == "/k":
            try:
                k = int(arg)
            except ValueError:
                k = 0
            if 1 <= k <= MAX_K:
                self.k = k
                print(f"(showing {k} passages)", file=out)
            else:
                print(f"khabar: /k takes a whole number from 1 to {MAX_K}", file=out)
        elif name in ("/help", "/?"):
            print(HELP.format(k=self.k), file=out)
        else:
            print(f"khabar: unknown command {name}; /help lists them", file=out)
        return True


def run(ask: Ask, k: int, stdin: TextIO, out: TextIO, prompt: str = "khabar> ") -> None:
    """The prompt loop: reads lines from ``stdin`` until end of input or /quit."""
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):  # Windows has no readline
            import readline  # noqa: F401  (line editing and history for input())
        print(
            "khabar chat: ask in English or Arabic; /help for commands, Ctrl-D to leave.", file=out
        )
    conversation = Conversation(k)
    while True:
        try:
            line = input(prompt) if interactive else stdin.readline()
        except EOFError:
            line = ""
            if interactive:
                print(file=out)
            break
        except KeyboardInterrupt:  # Ctrl-C clears the line, as in a shell
            print(file=out)
            continue
        if not interactive and not line:
            break
        if not conversation.handle(line, ask, out):
            break
