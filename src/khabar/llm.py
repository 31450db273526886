"""An optional language model behind an OpenAI-compatible endpoint (llama.cpp's server,
Ollama, vLLM, a hosted API): the only module that imports ``openai``.

Three uses, each allowed to fail (the caller then shows the passages alone, with a note):

- ``rewrite``: a follow-up question as the standalone question it stands for;
- ``reply``: a short answer in the question's language built only from the numbered
  passages, every sentence citing the passage it comes from as [n]; a reply that cites
  nothing, or a passage that was not given, is refused (``check_reply``);
- ``translate``: an English reading of an Arabic sentence (labelled machine translation).

Nothing here runs unless the ``llm_url`` setting is given; nothing reaches any address
otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from khabar.errors import ConfigError
from khabar.records import Reply
from khabar.text.tokenize import arabic_share

#: At most this many passages go to the model for a reply.
REPLY_PASSAGES = 3
MAX_REPLY_CHARS = 1200
REPLY_TOKENS = 256
_CITATION = re.compile(r"\[(\d{1,2})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+")
NONE_REPLY = "NONE"

REWRITE_PROMPT = (
    "You rewrite the last question of a conversation about news articles as a standalone "
    "question that can be understood without the conversation: replace pronouns and "
    "ellipsis with what they refer to in the earlier questions. Keep the question's "
    "language. Answer with the rewritten question only, on one line."
)
REPLY_PROMPT = (
    "You answer a question about news articles using only the numbered passages given. "
    "Write at most three short sentences in {language}. End every sentence with the "
    "number of the passage it comes from in square brackets, like [1]. Do not use anything "
    "that is not in the passages. When the question asks what someone said, begin with "
    "who said it, named as the passage names them, and their words. If the passages do "
    "not answer the question, answer exactly: NONE"
)
TRANSLATE_PROMPT = (
    "Translate the user's Arabic sentence into plain English. Answer with the translation "
    "only, on one line."
)


def check_reply(text: str, passages: int) -> Reply | None:
    """``text`` as a Reply when every sentence cites at least one of passages 1..``passages``
    and nothing else; None for a reply that cites nothing, cites a passage not given, says
    NONE, is empty or is too long."""
    text = " ".join((text or "").split())
    if not text or text.upper().strip(" .") == NONE_REPLY or len(text) > MAX_REPLY_CHARS:
        return None
    cited: list[int] = []
    for sentence in _SENTENCE_END.split(text):
        numbers = [int(n) for n in _CITATION.findall(sentence)]
        if not numbers or any(not 1 <= n <= passages for n in numbers):
            return None
        cited.extend(n for n in numbers if n not in cited)
    return Reply(text, tuple(sorted(cited)))


def passages_prompt(question: str, passages: Sequence[str]) -> str:
    """The user message of a reply request: the numbered passages, then the question."""
    numbered = "\n".join(f"[{i}] {' '.join(p.split())}" for i, p in enumerate(passages, 1))
    return f"Passages:\n{numbered}\n\nQuestion: {question}"


def reply_request(question: str, passages: Sequence[str]) -> tuple[str, str]:
    """The system and user messages of a reply request."""
    return REPLY_PROMPT.format(language=language_of(question)), passages_prompt(question, passages)


def language_of(question: str) -> str:
    """The language a reply is written in: the question's (Arabic or English)."""
    return "Arabic" if arabic_share(question) >= 0.5 else "English"


class LanguageModel:
    """A chat-completions client for ``url`` (an OpenAI-compatible base URL, e.g.
    ``http://127.0.0.1:8080/v1``); every call gives up after ``timeout`` seconds;
    ``rewrites``: whether the service lets it rewrite follow-ups."""

    def __init__(
        self,
        url: str,
        model: str = "",
        api_key: str = "",
        timeout: float = 20.0,
        rewrites: bool = True,
    ):
        try:
            import openai
        except ImportError as exc:  # pragma: no cover (the llm extra is not installed)
            raise ConfigError(
                'llm_url is set, but the openai package is not installed: pip install "khabar[llm]"'
            ) from exc
        self.url = url
        #: whether follow-ups are rewritten by the model (else by khabar's own rules)
        self.rewrites = rewrites
        self.model = model or "default"
        self.timeout = float(timeout)
        self._client = openai.OpenAI(
            base_url=url, api_key=api_key or "none", timeout=self.timeout, max_retries=0
        )

    def _request(self, system: str, user: str, max_tokens: int, stream: bool = False) -> Any:
        return self._client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            max_tokens=max_tokens,
            temperature=0.0,
            stream=stream,
        )

    def _complete(self, system: str, user: str, max_tokens: int) -> str | None:
        try:
            response = self._request(system, user, max_tokens)
            content = response.choices[0].message.content
        except Exception:  # unreachable, slow, or garbage: the passages are shown alone
            return None
        return content if isinstance(content, str) else None

    def rewrite(self, question: str, history: Sequence[str]) -> str | None:
        """``question`` as a standalone question, or None when the model fails or answers
        with something that is not one question on one line."""
        earlier = "\n".join(f"- {h}" for h in history)
        text = self._complete(
            REWRITE_PROMPT,
            f"Earlier questions:\n{earlier}\n\nLast question: {question}",
            max_tokens=96,
        )
        text = (text or "").strip().strip('"“”').strip()
        if not text or "\n" in text or len(text) > 2 * len(question) + 200:
            return None
        return text

    def reply(self, question: str, passages: Sequence[str]) -> Reply | None:
        """A checked reply to ``question`` from ``passages`` (numbered from 1), or None."""
        text = self._complete(*reply_request(question, passages), max_tokens=REPLY_TOKENS)
        return check_reply(text or "", len(passages))

    def stream_reply(self, question: str, passages: Sequence[str]) -> Iterator[str]:
        """The reply's text as it comes (check it whole with ``check_reply`` at the end);
        stops early, quietly, when the model fails."""
        try:
            stream = self._request(
                *reply_request(question, passages), max_tokens=REPLY_TOKENS, stream=True
            )
            for chunk in stream:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if isinstance(delta, str) and delta:
                    yield delta
        except Exception:  # unreachable, slow, or garbage: the reply stops here
            return

    def translate(self, sentence: str) -> str | None:
        """An English reading of ``sentence``, or None."""
        text = self._complete(TRANSLATE_PROMPT, sentence, max_tokens=200)
        text = " ".join((text or "").split())
        return text or None


def from_settings(settings: dict[str, Any]) -> LanguageModel | None:
    """The language model the ``llm_*`` settings name, or None when ``llm_url`` is empty."""
    url = str(settings.get("llm_url") or "").strip()
    if not url:
        return None
    return LanguageModel(
        url,
        str(settings.get("llm_model") or ""),
        str(settings.get("llm_api_key") or ""),
        float(settings.get("llm_timeout") or 20),
        rewrites=bool(settings.get("llm_rewrite", True)),
    )
