"""Writes conversations.jsonl: the follow-up evaluation set (see README.md beside this file).

Every turn names the XQuAD question it stands for (``ref``: passage id and the question's
place in that paragraph) or, for the sample article, the paragraph and a hand-written
standalone question. The follow-up wording (``ask``) is hand-written; the standalone
question is XQuAD's own (in the conversation's language). Run from the repository root:

    python data/followups/make_conversations.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
XQUAD = HERE.parent / "xquad"

# (lang, [(ref, ask or None), ...]); None: asked as XQuAD words it (a first turn).
EN: list[list[tuple[str, str | None]]] = [
    [("p000-00#6", None), ("p000-00#1", "How many career sacks did he have?"),
     ("p000-00#7", "What about the Pro Bowl, how many of them were picked?")],
    [("p000-01#0", None), ("p000-01#1", "How many points did they score in the last three minutes of that game?")],
    [("p001-00#1", None), ("p001-00#2", "And how long was it in operation?")],
    [("p001-01#0", None), ("p001-01#2", "How many times have they won the cup?"),
     ("p001-01#3", "Where is their home ground?")],
    [("p003-00#2", None), ("p003-00#0", "What year did he die?"), ("p003-00#4", "How did he pay for his work?")],
    [("p003-01#0", None), ("p003-01#1", "What did they finance?")],
    [("p004-01#0", None), ("p004-01#4", "And how can graphs be encoded?")],
    [("p005-00#1", None), ("p005-00#2", "Which Western country still allows it?")],
    [("p005-01#0", None), ("p005-01#1", "What's happening to their average age?"),
     ("p005-01#2", "When were attacks on them the highest?")],
    [("p006-00#0", None), ("p006-00#1", "Who went to Wittenberg to hear him speak?")],
    [("p006-01#0", None), ("p006-01#2", "What did he call the mass instead?")],
    [("p007-00#3", None), ("p007-00#1", "How much of it has been left undeveloped?")],
    [("p008-01#0", None), ("p008-01#1", "Which satellite was used for it?"),
     ("p008-01#3", "How many TV and radio channels could it carry?")],
    [("p009-00#0", None), ("p009-00#1", "And in the affluent areas?")],
    [("p009-01#0", None), ("p009-01#2", "Who can amend it?"), ("p009-01#1", "What is it based on?")],
    [("p010-01#0", None), ("p010-01#2", "What town were they actually given when they arrived?"),
     ("p010-01#3", "How many settled there at first?")],
    [("p011-00#0", None), ("p011-00#3", "What about toy ones, what heats those?")],
    [("p011-01#0", None), ("p011-01#1", "When was it first used?"),
     ("p011-01#2", "Which company made the most successful one?")],
    [("p012-00#0", None), ("p012-00#1", "And Priestley?")],
    [("p012-01#0", None), ("p012-01#1", "In what year did he do that?")],
    [("p013-00#0", None), ("p013-00#2", "How much more did other nations have to pay for oil after it?")],
    [("p014-00#0", None), ("p014-00#1", "When was it set up?")],
    [("p015-00#1", None), ("p015-00#2", "When did Spain and Portugal join it?"),
     ("p015-00#3", "Did Norway end up joining in 1972?")],
    [("p015-01#0", None), ("p015-01#2", "How often are its elections held?")],
    [("p016-00#1", None), ("p016-00#2", "How many nations control the region?"),
     ("p016-00#5", "What's the Dutch word for it?")],
    [("p016-01#0", None), ("p016-01#1", "And by 2000?")],
    [("p017-00#1", None), ("p017-00#0", "How much can they eat in a day?")],
    [("p018-01#0", None), ("p018-01#1", "What trees line it?")],
    [("p019-00#0", None), ("p019-00#3", "What happens to it at the destination?")],
    [("p020-00#0", None), ("p020-00#2", "What's the newer theory behind its spread?")],
    [("p020-01#1", None), ("p020-01#4", "When did it reach England?")],
    [("p021-01#0", None), ("p021-01#1", "Whose principles was it built on?"),
     ("p021-01#4", "It came 100 years before whose theory of evolution?")],
    [("p022-01#0", None), ("p022-01#2", "How many guests came to the dinner for its opening?"),
     ("p022-01#4", "Who listed it as grade 1 in 1954?")],
    [("p023-00#0", None), ("p023-00#1", "Who was its first director?"), ("p023-00#2", "What was it originally called?")],
    [("p024-01#0", None), ("p024-01#1", "In what year did they stop using the four-note jingle?")],
    [("p025-00#0", None), ("p025-00#1", "Who kidnapped her soon after?"),
     ("p025-00#3", "What was their first son called?")],
    [("p025-01#2", None), ("p025-01#3", "Which battle did he lose to Jamukha shortly after?")],
    [("p026-00#0", None), ("p026-00#1", "And what body must they register with?")],
    [("p027-00#1", None), ("p027-00#2", "What does it cause?"), ("p027-00#3", "Name one of its causes.")],
    [("p028-00#0", None), ("p028-00#1", "What kind of protest is his poem thought to be the first of?"),
     ("p028-00#2", "What was the name of Gandhi's doctrine inspired by him?")],
    [("p029-01#0", None), ("p029-01#2", "In what year did it compile data in nine market segments?")],
    [("p030-00#0", None), ("p030-00#2", "How are they funded?")],
    [("p031-01#0", None), ("p031-01#1", "What's the bridge that joins the parts of the campus over the river?")],
    [("p032-00#1", None), ("p032-00#3", "Which county is it in?"),
     ("p032-00#4", "When did it become part of that county?")],
    [("p032-01#0", None), ("p032-01#1", "How far is it from Miami?"), ("p032-01#4", "Who was it named after?")],
    [("p033-00#0", None), ("p033-00#2", "What are he and Branko Milanovic?")],
    [("p034-00#1", None), ("p034-00#2", "What does he do when his body is mortally damaged?"),
     ("p034-00#3", "Who does he usually take with him on his travels?")],
    [("p034-01#0", None), ("p034-01#1", "What's his granddaughter called?")],
    [("p035-00#2", None), ("p035-00#1", "How many quadrangles do they have?")],
    [("p036-00#1", None), ("p036-00#0", "When was his administration running out of money?")],
    [("p036-01#0", None), ("p036-01#2", "Who did he appoint as grand chancellor?"),
     ("p036-01#4", "How many rival princes were involved in killing him?")],
    [("p037-01#0", None), ("p037-01#1", "And what role would Odinga get?"),
     ("p037-01#4", "How long would the coalition last?")],
    [("p038-00#0", None), ("p038-00#1", "What nationality is he?"), ("p038-00#3", "Who was the first one?")],
    [("p039-00#0", None), ("p039-00#1", "How long ago was that?")],
    [("p040-01#1", None), ("p040-01#2", "Name one algorithm that does that for large numbers.")],
    [("p041-01#0", None), ("p041-01#1", "Where does it begin?"), ("p041-01#2", "What's its nickname?")],
    [("p041-00#1", None), ("p041-00#2", "How was it formed?")],
    [("p042-00#0", None), ("p042-00#3", "How did that go in 1979?")],
    [("p042-01#0", None), ("p042-01#4", "Where might they meet outside of Parliament?")],
    [("p043-01#0", None), ("p043-01#2", "What help are they known for giving students from out of town?"),
     ("p043-01#4", "Why have they organised cheap mass weddings?")],
    [("p044-00#0", None), ("p044-00#1", "And Halford Mackinder?")],
    [("p045-00#0", None), ("p045-00#1", "And where did it begin?")],
    [("p046-00#1", None), ("p046-00#3", "What was its first battle in 1754?")],
    [("p047-00#2", None), ("p047-00#4", "What did he call forced motion?")],
]

AR: list[list[tuple[str, str | None]]] = [
    [("p000-00#0", None), ("p000-00#5", "وكم اعتراضاً سجّل في 2015؟")],
    [("p000-01#0", None), ("p000-01#6", "وما النتيجة النهائية لتلك المباراة؟")],
    [("p001-00#1", None), ("p001-00#2", "وكم دام اشتغاله؟")],
    [("p001-01#1", None), ("p001-01#2", "وكم مرة فاز بالكأس؟"), ("p001-01#4", "ولماذا هبط من الدرجة الأولى في 2013؟")],
    [("p003-00#0", None), ("p003-00#2", "وأين عاش أغلب حياته؟"), ("p003-00#3", "وماذا كانت سمعته في الثقافة الشعبية؟")],
    [("p003-01#0", None), ("p003-01#1", "وما الذي قاما بتمويله؟")],
    [("p005-00#0", None), ("p005-00#3", "أي طرف أمريكي قال بدستوريته؟")],
    [("p005-01#1", None), ("p005-01#2", "ومتى بلغت التهجمات عليهم ذروتها؟")],
    [("p006-00#0", None), ("p006-00#3", "ومتى نُشرت أشهر أعماله؟")],
    [("p006-01#3", None), ("p006-01#4", "وبماذا أخبر الرهبان والراهبات؟")],
    [("p008-01#0", None), ("p008-01#1", "وما القمر الصناعي الذي استُعمل عند انطلاقها؟")],
    [("p009-00#1", None), ("p009-00#0", "وفي ضواحي الطبقة العاملة؟")],
    [("p009-01#1", None), ("p009-01#0", "ومتى بدأ العمل به؟"), ("p009-01#2", "ومن يحق له تنقيحه؟")],
    [("p010-01#0", None), ("p010-01#4", "ومتى تم تجنيسهم؟")],
    [("p011-01#0", None), ("p011-01#3", "ومن طوّرها لتشارلز بورتر؟")],
    [("p012-00#0", None), ("p012-00#3", "ومن أول من أطلق عليه هذا الاسم؟")],
    [("p012-01#1", None), ("p012-01#2", "ومتى طُوّر للاستخدام التجاري؟")],
    [("p013-00#1", None), ("p013-00#4", "ولماذا أجرى الشاه مقابلة؟")],
    [("p014-00#0", None), ("p014-00#1", "ومتى أُنشئت؟")],
    [("p015-00#2", None), ("p015-00#3", "وهل انضمت النرويج في النهاية؟")],
    [("p016-01#0", None), ("p016-01#1", "وبحلول سنة 2000؟"),
     ("p016-01#2", "وفيمَ تُستعمل معظم الأراضي التي أزيلت منها الغابات؟")],
    [("p017-00#1", None), ("p017-00#2", "وكم نوعاً لم يُسمَّ بعد؟")],
    [("p018-01#0", None), ("p018-01#1", "وما نوع الأشجار على جانبيها؟")],
    [("p020-00#0", None), ("p020-00#2", "وما النظرية الأحدث في انتشاره؟")],
    [("p020-01#1", None), ("p020-01#4", "ومتى وصلت إلى إنجلترا؟")],
    [("p022-00#0", None), ("p022-00#2", "وكم كان عدد سكانها في القرن الثاني؟")],
    [("p023-00#1", None), ("p023-00#3", "وإلى أين نُقل من مارلبورو هاوس؟"),
     ("p023-00#4", "ومن المهندس الألماني الذي طُلب منه تصميمه؟")],
    [("p023-01#2", None), ("p023-01#3", "ومتى افتُتح؟")],
    [("p024-00#1", None), ("p024-00#2", "وما لونا شعارها لعام 2001؟")],
    [("p025-00#1", None), ("p025-00#2", "ومن ساعده في إنقاذها؟"), ("p025-00#4", "وفي أي عام وَلدت يوتشي؟")],
    [("p025-01#1", None), ("p025-01#2", "ومتى انتُخب خاناً؟")],
    [("p026-00#1", None), ("p026-00#2", "وما واجبها الرئيسي؟")],
    [("p027-01#0", None), ("p027-01#1", "ومع أي أدوية تُستخدم جرعات منخفضة منها؟")],
    [("p028-00#5", None), ("p028-00#3", "ولأي غاية أشار غاندي إليها؟")],
    [("p029-00#0", None), ("p029-00#2", "وكم نسبتها من الناتج المحلي الإجمالي؟")],
    [("p030-01#0", None), ("p030-01#2", "وكم عدد لجان الفحص هناك؟")],
    [("p031-01#0", None), ("p031-01#2", "وأين تقع كليات الطب وطب الأسنان والصحة العامة فيها؟")],
    [("p032-00#0", None), ("p032-00#1", "وكم كان عدد سكانها في 2010؟"), ("p032-00#3", "وفي أي مقاطعة تقع؟")],
    [("p032-01#2", None), ("p032-01#3", "ومن كان يسكن المنطقة قبل وصول الفرنسيين؟")],
    [("p034-00#0", None), ("p034-00#2", "وماذا يفعل عندما يتضرر جسمه؟")],
    [("p035-01#1", None), ("p035-01#4", "ومتى أُنشئ مركز جيرالد راتنر؟")],
    [("p036-00#2", None), ("p036-00#3", "وفي أي معركة هزمت المغول؟"), ("p036-00#4", "ومتى كان ذلك؟")],
    [("p037-00#0", None), ("p037-00#1", "وماذا يقيس هذا المؤشر؟"), ("p037-00#3", "وكيف تكبح الفساد؟")],
    [("p038-00#0", None), ("p038-00#2", "ومن نائبه؟"), ("p038-00#4", "ومتى استقال باشوري من رئاسته؟")],
    [("p038-01#1", None), ("p038-01#2", "وما مقدار تأثيرها الناتج عن ثاني أكسيد الكربون؟")],
    [("p039-01#0", None), ("p039-01#1", "وكم سلالة منها توجد؟")],
    [("p041-00#2", None), ("p041-00#3", "وما اسم المنطقة القريبة منه ذات القلاع؟")],
    [("p042-01#0", None), ("p042-01#4", "وأين يمكن أن تجتمع لجانه خارجه؟")],
    [("p045-00#0", None), ("p045-00#1", "وأين؟")],
    [("p046-00#0", None), ("p046-00#1", "وكم دام القتال فيها؟")],
    [("p047-00#0", None), ("p047-00#2", "وكم عنصراً اعتقد أن الكرة الأرضية تتكون منها؟")],
]

# The sample article (src/khabar/samples): (paragraph, ask, standalone); its paragraphs are
# passages "sample-NN", NN counting the article's non-empty lines after the title.
SAMPLE: list[tuple[str, list[tuple[int, str, str]]]] = [
    ("en", [(1, "Who did Putin receive in the Kremlin?", "Who did Putin receive in the Kremlin?"),
            (9, "What did he say about Israel?", "What did Putin say about the Israeli violations of Syrian territory?"),
            (7, "And about Syria's territorial unity?", "What did Putin say about the unity of Syrian territory?")]),
    ("en", [(6, "What did the two sides discuss about the economy?", "What did the two sides discuss about the economy?"),
            (3, "And on the political side?", "What did the two sides discuss on the political level?")]),
    ("en", [(10, "Who will Lavrov hold talks with?", "Who will Lavrov hold talks with?"),
            (10, "Who announced it?", "Who said that Lavrov would hold talks with the Syrian foreign minister?")]),
    ("en", [(11, "When did the Syrian president Ahmed al-Sharaa visit Russia?", "When did the Syrian president Ahmed al-Sharaa visit Russia?"),
            (12, "What did Putin say then?", "What did Putin say during al-Sharaa's visit to Russia?")]),
    ("ar", [(1, "من استقبل بوتين في الكرملين؟", "من استقبل بوتين في الكرملين؟"),
            (9, "وماذا قال عن إسرائيل؟", "ماذا قال بوتين عن الانتهاكات الإسرائيلية للأراضي السورية؟")]),
    ("ar", [(2, "ماذا بحث الجانبان في المجال العسكري؟", "ماذا بحث الجانبان في المجال العسكري؟"),
            (6, "وماذا عن الاقتصاد؟", "ماذا بحث الجانبان في الجانب الاقتصادي؟"),
            (3, "وعلى الصعيد السياسي؟", "ماذا ناقش الطرفان على الصعيد السياسي؟")]),
    ("ar", [(10, "مع من سيجري لافروف محادثات؟", "مع من سيجري لافروف محادثات؟"),
            (10, "ومن أعلنت ذلك؟", "من قالت إن لافروف سيجري محادثات مع الشيباني؟")]),
    ("ar", [(11, "متى زار الرئيس السوري أحمد الشرع روسيا؟", "متى زار الرئيس السوري أحمد الشرع روسيا؟"),
            (12, "وماذا قال بوتين آنذاك؟", "ماذا قال بوتين خلال زيارة الشرع إلى روسيا؟")]),
]

NEW_TOPICS = 40  # conversations whose second turn is a standalone question of another article


def _questions(lang: str) -> dict[str, str]:
    data = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
    out = {}
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            for q, qa in enumerate(paragraph["qas"]):
                out[f"p{a:03d}-{p:02d}#{q}"] = " ".join(qa["question"].split())
    return out


def _turn(ref: str, ask: str | None, texts: dict[str, str], first: bool) -> dict[str, str]:
    standalone = texts[ref]
    return {
        "ask": standalone if ask is None else ask,
        "standalone": standalone,
        "passage": ref.split("#")[0],
        "ref": ref,
        "kind": "first" if first else "followup",
    }


def main() -> None:
    texts = {"en": _questions("en"), "ar": _questions("ar")}
    rows = []
    for lang, convs in (("en", EN), ("ar", AR)):
        for i, conv in enumerate(convs):
            turns = [_turn(r, a, texts[lang], n == 0) for n, (r, a) in enumerate(conv)]
            rows.append({"id": f"{lang}-{i:03d}", "lang": lang, "turns": turns})
    for i, (lang, conv) in enumerate(SAMPLE):
        turns = [
            {"ask": ask, "standalone": alone, "passage": f"sample-{p:02d}", "ref": "",
             "kind": "first" if n == 0 else "followup"}
            for n, (p, ask, alone) in enumerate(conv)
        ]
        rows.append({"id": f"sample-{lang}-{i:02d}", "lang": lang, "turns": turns})
    # New topics: a first question of article a, then paragraph 2's first question of
    # article a + 17 (asked as XQuAD words it), alternating languages.
    for i in range(NEW_TOPICS):
        lang = "en" if i % 2 == 0 else "ar"
        a, b = i % 48, (i + 17) % 48
        first, second = f"p{a:03d}-03#0", f"p{b:03d}-02#0"
        turns = [_turn(first, None, texts[lang], True), _turn(second, None, texts[lang], False)]
        turns[1]["kind"] = "new"
        rows.append({"id": f"new-{lang}-{i:03d}", "lang": lang, "turns": turns})
    with (HERE / "conversations.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    followups = sum(t["kind"] == "followup" for r in rows for t in r["turns"])
    print(f"{len(rows)} conversations, {followups} follow-up turns")


if __name__ == "__main__":
    main()
