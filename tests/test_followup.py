"""Which questions lean on the conversation, and the chain a follow-up is searched with
(pure logic; the retrieval it gives is measured by bench/followups.py and tested in
tests/test_service.py)."""

from __future__ import annotations

import pytest

from khabar.followup import MAX_HISTORY, chain, needs_context, searched_text


@pytest.mark.parametrize(
    "question",
    [
        "And about the economy?",
        "what about Lavrov?",
        "Who did he meet?",
        "When was it first used?",
        "How did that go in 1979?",
        "And by 2000?",
        "Which Western country still allows it?",  # a name before "it" is not its antecedent
        "وماذا عن الاقتصاد؟",
        "ومتى حدث ذلك؟",
        "متى حدث ذلك؟",
        "وكم مرة فاز بالكأس؟",
        "ماذا قال عنه؟",
        "وأين؟",
    ],
)
def test_follow_ups_need_their_context(question: str) -> None:
    assert needs_context(question)


@pytest.mark.parametrize(
    "question",
    [
        "What did Putin say about Israel?",
        "Where did Tesla live for much of his life?",  # "his" has its antecedent here
        "When did the movement that would become The United Methodist Church begin?",
        "What is DECnet",
        "ماذا قال بوتين عن إسرائيل؟",
        "كم عدد الاعتراضات التي سُجلت لصالح دفاع البانثرز في 2015؟",
        "ما الذي دعا إليه لوثر بعد رفضه لفكرة الاعتراف الإجباري؟",  # after a relative pronoun
        "وزير الخارجية الروسي",  # و is part of the word
        "",
        "؟؟",
    ],
)
def test_questions_that_stand_on_their_own(question: str) -> None:
    assert not needs_context(question)


def test_a_follow_up_chains_back_to_the_last_question_that_stands_alone() -> None:
    history = ["Who won Super Bowl 50?", "What did Putin say about Israel?", "And Lavrov?"]
    assert chain("Who did he meet?", history) == [
        "What did Putin say about Israel?",
        "And Lavrov?",
        "Who did he meet?",
    ]
    assert searched_text(chain("And Lavrov?", history[:2])) == (
        "What did Putin say about Israel? And Lavrov?"
    )


def test_a_new_topic_or_no_history_is_searched_alone() -> None:
    assert chain("What did Putin say about Israel?", ["Who won Super Bowl 50?"]) == [
        "What did Putin say about Israel?"
    ]
    assert chain("And about the economy?", []) == ["And about the economy?"]
    assert chain("And about the economy?", ["  ", ""]) == ["And about the economy?"]


def test_only_the_latest_history_counts() -> None:
    history = ["What did Putin say about Israel?"] + ["and then?"] * (MAX_HISTORY + 5)
    assert len(chain("And after that?", history)) == MAX_HISTORY + 1
