"""Chat messages -> gated transcript -> template rendering with spans -> labels (issue 6)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from bayes_agent.errors import InvalidArgument  # noqa: E402
from bayes_agent.transcript import Channel, Gate, Part  # noqa: E402
from neural.chat.messages import (  # noqa: E402
    CHAT_TEMPLATES,
    DEFAULT_ROLES,
    END_OF_TURN_MARKERS,
    Provenance,
    build_chat_tokenizer,
    mask_chat,
    message_provenance,
    render_chat,
    transcript_from_messages,
)
from neural.masking import IGNORE_INDEX, LabelMode  # noqa: E402

TEMPLATES = sorted(CHAT_TEMPLATES)


def call(name: str, arguments: object) -> dict:
    return {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": arguments}}


# The paper's §3.1 dialogue: h_6 = (a1, a2, o3, a4, o5, o6) after the context.
INVOICE = [
    {"role": "system", "content": "User: My invoice has two charges for April. Please fix it."},
    {"role": "assistant", "content": "I will inspect the invoice and payment records."},
    {"role": "assistant", "content": None, "tool_calls": [call("lookup_invoice", '{"invoice_id": "INV-042"}')]},
    {"role": "tool", "content": "two April charges found; one is duplicate."},
    {"role": "assistant", "content": None, "tool_calls": [call("refund_duplicate_charge", {"invoice_id": "INV-042"})]},
    {"role": "tool", "content": "refund queued; confirmation code R-91."},
    {"role": "user", "content": "Thanks -- please send me the confirmation."},
]

MIXED = [
    {"role": "system", "content": "You are a billing agent."},
    {"role": "user", "content": "Please check invoice INV-7."},
    {"role": "assistant", "content": "Checking now.", "tool_calls": [call("lookup", {"id": "INV-7"}), call("notify", {})]},
    {"role": "tool", "content": "INV-7: paid in full."},
    {"role": "assistant", "content": "It is paid in full."},
]


@pytest.fixture(scope="module")
def tokenizers() -> dict:
    return {name: build_chat_tokenizer(name) for name in TEMPLATES}


# --- provenance --------------------------------------------------------------------------------


def test_default_roles_follow_the_paper() -> None:
    assert DEFAULT_ROLES["assistant"] is Provenance.AGENT
    for role in ("user", "tool", "function", "ipython", "environment"):
        assert DEFAULT_ROLES[role] is Provenance.WORLD
    assert DEFAULT_ROLES["system"] is Provenance.CONTEXT


def test_invoice_dialogue_has_the_papers_gates() -> None:
    t = transcript_from_messages(INVOICE)
    assert t.gates == (Gate.AGENT, Gate.AGENT, Gate.WORLD, Gate.AGENT, Gate.WORLD, Gate.WORLD)
    assert t.context == INVOICE[0]["content"]
    assert t[1].value == 'lookup_invoice({"invoice_id": "INV-042"})'  # the tool call is an action
    assert t[1].channel is Channel.ACTION and t[2].channel is Channel.OBSERVATION


def test_demonstration_override_is_world_written_action() -> None:
    msgs = copy.deepcopy(MIXED)
    msgs[4]["gate"] = 0
    assert message_provenance(msgs)[4] is Provenance.WORLD
    slot = transcript_from_messages(msgs)[-1]
    assert slot.gate is Gate.WORLD and slot.channel is Channel.ACTION  # evidence (§3.3)
    msgs[4] = {**MIXED[4], "provenance": "world"}
    assert message_provenance(msgs)[4] is Provenance.WORLD


def test_role_mapping_can_be_overridden() -> None:
    msgs = [{"role": "teacher", "content": "x = 1"}, {"role": "user", "content": "ok"}]
    with pytest.raises(InvalidArgument, match=r"message 0 \(teacher\).*unknown role 'teacher'"):
        message_provenance(msgs)
    assert message_provenance(msgs, roles={"teacher": "world"})[0] is Provenance.WORLD
    assert message_provenance(msgs, roles={"teacher": 0, "user": 1})[1] is Provenance.AGENT


@pytest.mark.parametrize(
    "messages, pattern",
    [
        ([], "empty conversation"),
        ("hello", "list of messages"),
        ([{"role": "user", "content": ["a", "b"]}], r"message 0 \(user\): content must be a string, got list"),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": 3}], r"message 1 \(assistant\).*got int"),
        ([{"role": "user"}], r"message 0 \(user\): content must be a string, got missing"),
        ([{"content": "a"}], "message 0 has no string 'role'"),
        (["a"], "message 0 must be an object"),
        ([{"role": "system", "content": "only context"}], "only context"),
        ([{"role": "user", "content": "a", "gate": 0, "provenance": "agent"}], "disagree"),
        ([{"role": "user", "content": "a", "gate": 7}], "provenance must be"),
        ([{"role": "assistant", "content": None, "tool_calls": {"name": "f"}}], "tool_calls must be a list"),
        ([{"role": "assistant", "content": None, "tool_calls": [{"function": {}}]}], "tool call 0 needs a function name"),
        ([{"role": "assistant", "content": None, "tool_calls": [call("f", 3)]}], "arguments must be"),
    ],
)
def test_bad_conversations_are_named(messages: object, pattern: str) -> None:
    with pytest.raises(InvalidArgument, match=pattern):
        message_provenance(messages)  # type: ignore[arg-type]


# --- rendering and spans -----------------------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("messages", [INVOICE, MIXED], ids=["invoice", "mixed"])
def test_spans_tile_the_text_and_hold_each_message(tokenizers: dict, template: str, messages: list) -> None:
    chat = render_chat(messages, tokenizers[template])
    text, spans = chat.rendering.text, chat.rendering.spans
    assert chat.aligned_by == "probe"
    assert spans[0].start == 0 and spans[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:]))
    by_message: dict[int, list] = {}
    for sp, msg in zip(spans, chat.span_messages):
        if msg is not None:
            by_message.setdefault(msg, []).append(sp)
    for i, m in enumerate(messages):
        own = by_message[i]
        prov = chat.provenance[i]
        assert all(sp.gate is prov.gate for sp in own)
        assert all(sp.part is (Part.CONTEXT if prov is Provenance.CONTEXT else Part.CONTENT) for sp in own)
        rendered = [text[sp.start : sp.end] for sp in own]
        k = 0
        if m["content"]:
            assert rendered[0] == m["content"]
            k = 1
        calls = m.get("tool_calls") or []
        if m["role"] == "assistant" and template != "plain":  # eot="agent": the marker closing the turn
            assert rendered.pop() in END_OF_TURN_MARKERS
        assert len(rendered) == k + len(calls)
        for piece, c in zip(rendered[k:], calls):
            assert c["function"]["name"] in piece  # each call's rendered text is its own span
    # slot numbers of content spans agree with the transcript
    for sp in spans:
        if sp.part is Part.CONTENT:
            assert chat.transcript[sp.slot].gate is sp.gate


def test_tool_definitions_are_context(tokenizers: dict) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    ex = mask_chat(MIXED, tokenizers["chatml"], tools=tools)
    context = [sp for sp, msg in zip(ex.chat.rendering.spans, ex.chat.span_messages)
               if sp.part is Part.CONTEXT and msg is None]
    text = ex.chat.rendering.text
    # the tool definitions, then the frame around the system prompt up to the first user text
    assert [text[sp.start:sp.end] for sp in context[1:]] == ["<|im_start|>system\n",
                                                             "<|im_end|>\n<|im_start|>user\n"]
    assert '"name": "lookup"' in ex.chat.rendering.text[context[0].start : context[0].end]
    for t, (s, e) in enumerate(ex.masked.offsets):
        if context[0].start <= s and e <= context[0].end and e > s:
            assert all(ex.labels(m)[t] == IGNORE_INDEX for m in LabelMode)
    tools_row = ex.message_table()[-1]
    assert tools_row["role"] == "(context)" and tools_row["tokens"] > 0
    assert all(tools_row[m.value] == 0 for m in LabelMode)


def test_tool_definitions_spread_over_the_template_are_context(tokenizers: dict) -> None:
    """Like Llama 3.1: a system line plus the definitions inside the first user turn."""
    nl = "{{ '\\n' }}"
    template = (
        "{% set ns = namespace(done=false) %}"
        "{% if tools %}<|im_start|>system" + nl + "Environment: tools<|im_end|>" + nl + "{% endif %}"
        "{% for m in messages %}<|im_start|>{{ m.role }}" + nl +
        "{% if tools and m.role == 'user' and not ns.done %}{% set ns.done = true %}"
        "Tools: {{ tools | tojson }}" + nl + nl + "{% endif %}"
        "{{ m.content }}<|im_end|>" + nl + "{% endfor %}"
    )
    tools = [{"type": "function", "function": {"name": "lookup_everything"}}]
    tok = _with_template(tokenizers["chatml"], template)
    with pytest.raises(InvalidArgument, match=r"tool call 0 of message 2 \(assistant\).*does not render it at all"):
        mask_chat(MIXED, tok, tools=tools)  # this template ignores tool calls
    messages = copy.deepcopy(MIXED)
    del messages[2]["tool_calls"]
    ex = mask_chat(messages, tok, tools=tools)
    text = ex.chat.rendering.text
    assert "Environment: tools" in text and "lookup_everything" in text
    owner = _char_parts(ex)
    for needle in ("Environment: tools", "lookup_everything"):
        at = text.index(needle)
        assert all(owner[c].part is Part.CONTEXT for c in range(at, at + len(needle)))
    user = text.index(MIXED[1]["content"])
    assert owner[user].part is Part.CONTENT and owner[user].gate is Gate.WORLD
    rows = {r["message"]: r for r in ex.message_table()}
    assert rows[1]["interventional"] == rows[1]["tokens"] > 0  # the user's words keep their loss


def test_content_that_looks_like_scaffolding_is_placed_by_provenance(tokenizers: dict) -> None:
    """A user who writes 'user' must not be matched inside the '<|im_start|>user' header."""
    msgs = [{"role": "user", "content": "user"}, {"role": "assistant", "content": "assistant"}]
    chat = render_chat(msgs, tokenizers["chatml"], eot="protocol")
    spans = [sp for sp in chat.rendering.spans if sp.part is Part.CONTENT]
    assert chat.rendering.text[: spans[0].start] == "<|im_start|>user\n"
    assert [chat.rendering.text[sp.start : sp.end] for sp in spans] == ["user", "assistant"]


def test_trimming_template_is_aligned_by_scaffolding(tokenizers: dict) -> None:
    msgs = [{"role": "user", "content": "  hello there \n"}, {"role": "assistant", "content": "\nhi "}]
    chat = render_chat(msgs, tokenizers["llama3"], eot="protocol")
    assert chat.aligned_by == "probe"
    got = [chat.rendering.text[sp.start : sp.end] for sp in chat.rendering.spans if sp.part is Part.CONTENT]
    assert got == ["hello there", "hi"]


def _with_template(tok, template: str):
    clone = copy.copy(tok)
    clone.chat_template = template
    return clone


@pytest.mark.parametrize(
    "template, pattern",
    [
        # drops tool messages
        ("{% for m in messages %}{% if m.role != 'tool' %}{{ m.role }}: {{ m.content }}\n{% endif %}{% endfor %}",
         r"message 3 \(tool\): the template does not render its content"),
        # rewrites content
        ("{% for m in messages %}{{ m.role }}: {{ m.content | upper }}\n{% endfor %}",
         r"message 0 \(system\): its content 'You are a billing agent.'.* does not occur"),
    ],
    ids=["drops", "rewrites"],
)
def test_unalignable_templates_name_the_message(tokenizers: dict, template: str, pattern: str) -> None:
    tok = _with_template(tokenizers["plain"], template)
    with pytest.raises(InvalidArgument, match="cannot align.*" + pattern):
        render_chat(MIXED, tok)


def test_a_template_that_reorders_messages_keeps_each_message_its_own_span(tokenizers: dict) -> None:
    tok = _with_template(tokenizers["plain"],
                         "{% for m in messages | reverse %}{{ m.role }}: {{ m.content }}\n{% endfor %}")
    msgs = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"}]
    chat = render_chat(msgs, tok)
    got = {msg: chat.rendering.text[sp.start:sp.end] for sp, msg in zip(chat.rendering.spans, chat.span_messages)
           if msg is not None}
    assert chat.rendering.text.startswith("assistant: second")
    assert got == {0: "first", 1: "second"}


def test_template_errors_and_missing_templates_are_reported(tokenizers: dict) -> None:
    tok = _with_template(tokenizers["plain"], "{{ raise_exception('no tools here') }}")
    with pytest.raises(InvalidArgument, match="chat template failed.*no tools here"):
        render_chat(MIXED, tok)
    bare = _with_template(tokenizers["plain"], None)
    with pytest.raises(InvalidArgument, match="no chat template"):
        render_chat(MIXED, bare)
    assert render_chat(MIXED, bare, chat_template=CHAT_TEMPLATES["plain"]).rendering.text.startswith("You are")


# --- labels ------------------------------------------------------------------------------------


def _char_parts(ex) -> list:
    owner = [None] * len(ex.chat.rendering.text)
    for sp in ex.chat.rendering.spans:
        for c in range(sp.start, sp.end):
            owner[c] = sp
    return owner


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("messages", [INVOICE, MIXED], ids=["invoice", "mixed"])
def test_label_modes_follow_the_gates(tokenizers: dict, template: str, messages: list) -> None:
    ex = mask_chat(messages, tokenizers[template])
    owner = _char_parts(ex)
    obs, do, asst = (ex.labels(m) for m in ("observational", "interventional", "assistant_only"))
    for t, (s, e) in enumerate(ex.masked.offsets):
        spans = owner[s:e]
        context = any(sp.part is Part.CONTEXT for sp in spans)
        agent = any(sp.part is Part.CONTENT and sp.gate is Gate.AGENT for sp in spans)
        all_agent = spans and all(sp.part is Part.CONTENT and sp.gate is Gate.AGENT for sp in spans)
        assert (obs[t] != IGNORE_INDEX) == (bool(spans) and not context)
        assert (do[t] != IGNORE_INDEX) == (bool(spans) and not context and not agent)
        assert (asst[t] != IGNORE_INDEX) == bool(all_agent)
        for labels in (obs, do, asst):
            assert labels[t] in (IGNORE_INDEX, ex.input_ids[t])
    acc = ex.masked.accounting
    assert acc.supervised_obs == sum(x != IGNORE_INDEX for x in obs)
    # the only difference between the arms is the tokens that carry agent-written characters
    assert acc.supervised_obs - acc.supervised_do == sum(
        1 for t, (s, e) in enumerate(ex.masked.offsets)
        if obs[t] != IGNORE_INDEX and any(sp.gate is Gate.AGENT and sp.part is Part.CONTENT for sp in owner[s:e])
    )
    assert acc.supervised_do > 0 and acc.supervised_obs > acc.supervised_do


def test_plain_format_straddling_token_is_masked_in_do_only(tokenizers: dict) -> None:
    ex = mask_chat(MIXED, tokenizers["plain"])
    mixed = [t for t, r in enumerate(ex.masked.roles) if r.startswith("mixed") and "agent" in r
             and "context" not in r]
    assert mixed, "expected a BPE token spanning 'Agent: ' and the agent's words"
    for t in mixed:
        assert ex.labels("observational")[t] != IGNORE_INDEX
        assert ex.labels("interventional")[t] == IGNORE_INDEX


@pytest.mark.parametrize("template", TEMPLATES)
def test_provenance_not_appearance(tokenizers: dict, template: str) -> None:
    """The same assistant words are masked as the agent's and supervised as a demonstration."""
    demo = copy.deepcopy(MIXED)
    demo[4]["provenance"] = "world"
    a, b = mask_chat(MIXED, tokenizers[template]), mask_chat(demo, tokenizers[template])
    assert a.input_ids == b.input_ids  # same text, same tokens
    assert a.labels("observational") == b.labels("observational")
    gained = [t for t in range(len(a.input_ids))
              if a.labels("interventional")[t] == IGNORE_INDEX != b.labels("interventional")[t]]
    owners = a.token_messages()
    assert gained and {owners[t] for t in gained} <= {4, None}
    assert sum(1 for t in gained if owners[t] == 4) >= len(MIXED[4]["content"].split())


@pytest.mark.parametrize("template", TEMPLATES)
def test_appended_agent_turn_adds_no_interventional_content(tokenizers: dict, template: str) -> None:
    longer = MIXED + [{"role": "assistant", "content": "Anything else I can check for you today?"}]
    ex = mask_chat(longer, tokenizers[template])
    owners = ex.token_messages()
    new = [t for t, m in enumerate(owners) if m == len(longer) - 1]
    assert new and all(ex.labels("interventional")[t] == IGNORE_INDEX for t in new)
    assert all(ex.labels("observational")[t] != IGNORE_INDEX for t in new)


@pytest.mark.parametrize("template", TEMPLATES)
def test_truncation_keeps_masks_aligned(tokenizers: dict, template: str) -> None:
    full = mask_chat(INVOICE, tokenizers[template])
    cut = mask_chat(INVOICE, tokenizers[template], max_length=20)
    assert len(cut.input_ids) == 20
    assert cut.masked.truncated_tokens == len(full.input_ids) - 20
    assert cut.input_ids == full.input_ids[:20]
    for m in LabelMode:
        assert cut.labels(m) == full.labels(m)[:20]
    with pytest.raises(InvalidArgument, match="max_length must be positive"):
        mask_chat(INVOICE, tokenizers[template], max_length=0)


def test_message_table_counts_add_up(tokenizers: dict) -> None:
    ex = mask_chat(INVOICE, tokenizers["chatml"])
    rows = ex.message_table()
    assert sum(r["tokens"] for r in rows) == len(ex.input_ids)
    assert sum(r["interventional"] for r in rows) == ex.masked.accounting.supervised_do
    by_role = {r["message"]: r for r in rows}
    assert by_role[0]["observational"] == 0  # the system prompt is context
    assert by_role[1]["interventional"] == 0 < by_role[1]["observational"]  # agent words
    assert by_role[3]["interventional"] == by_role[3]["observational"] > 0  # tool output
    feats = ex.features("interventional")
    assert feats["labels"] == ex.labels("interventional") and len(feats["attention_mask"]) == len(feats["input_ids"])


# --- property: any conversation over a nasty alphabet is aligned and masked by the rule --------

_TEXT = st.lists(
    st.sampled_from(list("ab <|>\n:") + ["user", "Agent: ", "<|im_end|>", "{", "}"]), max_size=8
).map("".join)
_MESSAGE = st.fixed_dictionaries({
    "role": st.sampled_from(["system", "user", "assistant", "tool"]),
    "content": _TEXT,
})


# generated text may spell a special token; the warning about it is tested on its own
@pytest.mark.filterwarnings("ignore:message .* which the tokenizer encodes as its special token:UserWarning")
@given(messages=st.lists(_MESSAGE, min_size=1, max_size=5), template=st.sampled_from(["plain", "chatml"]),
       eot=st.sampled_from(["agent", "protocol"]))
def test_any_conversation_is_aligned(tokenizers: dict, messages: list, template: str, eot: str) -> None:
    if all(m["role"] == "system" for m in messages):
        messages.append({"role": "user", "content": "hi"})
    assume(template != "plain" or any(m["content"] for m in messages))  # plain renders empty turns as ""
    ex = mask_chat(messages, tokenizers[template], eot=eot)
    text = ex.chat.rendering.text
    for sp, msg in zip(ex.chat.rendering.spans, ex.chat.span_messages):
        if msg is not None:
            piece = text[sp.start : sp.end]
            closes_turn = eot == "agent" and messages[msg]["role"] == "assistant" and piece == "<|im_end|>"
            assert piece == messages[msg]["content"] or closes_turn
    located = {msg for msg in ex.chat.span_messages if msg is not None}
    assert located == {i for i, m in enumerate(messages) if m["content"]}
    for t in range(len(ex.input_ids)):
        if ex.labels("interventional")[t] != IGNORE_INDEX:
            assert ex.labels("observational")[t] != IGNORE_INDEX
