#!/usr/bin/env python3
"""gen-updates.py N [SEED] - N realistic raw VK updates, one per line.

Deterministic for a given N and SEED. Mixed types (message_new as commands
and messages, some commands after a mention of the community or of another
one, keyboard payloads as JSON strings (and some that hold no JSON), service
messages with an action, message_event with payloads of every JSON type and
some without conversation_message_id, reactions set and removed, and a few
types vk-normalize drops), Cyrillic and emoji text,
attachments, replies, forwards, chats and DMs, community authors; some lines
escape non-ASCII as \\uXXXX and '/' as '\\/', as VK's servers do. About 600
bytes a line on average. Ids stay below 2**53 so that jq, which reads
numbers as doubles, agrees with vk-normalize.
"""
import json
import random
import sys

WORDS = ["привет", "как", "дела", "бот", "команда", "игра", "сегодня", "завтра",
         "hello", "world", "ok", "спасибо", "модерация", "бан", "кик", "чат",
         "😀", "🔥", "👍", "🎉", "❤️", "тест", "ответ", "вопрос", "погода"]
COMMANDS = ["/start", "/help", "!ban", "!kick", "/stats", "/top", "!warn", "/roll"]
ATT = ["photo", "doc", "video", "audio", "sticker", "audio_message", "wall", "link"]
GROUP = 218730916
MENTIONS = ["[club%d|@toaster] " % GROUP, "[public%d|Тостер], " % GROUP, "[club%d|@bot]: " % GROUP,
            "[club777|@other] ", "[club%d|@toaster] " % GROUP]
ACTIONS = [{"type": "chat_invite_user", "member_id": 5}, {"type": "chat_kick_user", "member_id": 6},
           {"type": "chat_title_update", "text": "Новое имя"}]
MSG_PAYLOADS = ['{"command":"start"}', '{"button":"1"}', "not json", '"str"', "42"]
PAYLOADS = [{"cmd": "vote", "value": 1}, ["a", 1, True], "plain", 42, True, False,
            None, {"data": "clicked", "values": [11, 22, 33], "status": {"active": True}}]


def text(r):
    return " ".join(r.choice(WORDS) for _ in range(r.randint(1, 12)))


def photo(r, owner):
    return {"type": "photo", "photo": {
        "album_id": -3, "date": 1700000000 + r.randint(0, 10**6), "id": r.randint(1, 10**9),
        "owner_id": owner, "access_key": "%018x" % r.getrandbits(72),
        "sizes": [{"height": h, "width": w, "type": t,
                   "url": "https://sun9-%d.userapi.com/impg/%x.jpg?size=%dx%d&type=album"
                   % (r.randint(1, 99), r.getrandbits(40), w, h)}
                  for t, w, h in (("s", 75, 40), ("m", 130, 69))],
        "text": ""}}


def attachment(r, owner):
    t = r.choice(ATT)
    if t == "photo":
        return photo(r, owner)
    return {"type": t, t: {"id": r.randint(1, 10**9), "owner_id": owner}}


def reply(r, users, full=True):
    m = {"date": 1700000000 + r.randint(0, 10**6), "from_id": r.choice(users),
         "text": text(r) if r.random() < 0.8 else "", "attachments": []}
    if full or r.random() < 0.5:
        m["conversation_message_id"] = r.randint(1, 10**5)
    if full:
        m["id"] = r.randint(0, 10**6)
        m["peer_id"] = r.choice(users)
    return m


def message_new(r, users, peers):
    sender = r.choice(users)
    peer = r.choice(peers) if r.random() < 0.7 else abs(sender)
    t = r.random()
    body = r.choice(COMMANDS) + " " + text(r) if t < 0.25 else (text(r) if t < 0.95 else "")
    if r.random() < 0.08:
        body = r.choice(MENTIONS) + body
    m = {"date": 1700000000 + r.randint(0, 10**6), "from_id": sender,
         "id": 0 if peer > 2000000000 else r.randint(1, 10**6), "out": 0,
         "version": r.randint(10**7, 10**8), "attachments": [],
         "conversation_message_id": r.randint(1, 10**5), "fwd_messages": [],
         "important": False, "is_hidden": False, "peer_id": peer, "random_id": 0,
         "text": body}
    if r.random() < 0.3:
        m["attachments"] = [attachment(r, sender) for _ in range(r.randint(1, 3))]
    if r.random() < 0.15:
        m["reply_message"] = reply(r, users)
    if r.random() < 0.1:
        m["fwd_messages"] = [reply(r, users, full=False) for _ in range(r.randint(1, 3))]
    if r.random() < 0.05:
        m["geo"] = {"type": "point", "coordinates": {"latitude": 55, "longitude": 37}}
    if r.random() < 0.1:
        m["payload"] = r.choice(MSG_PAYLOADS)
    if r.random() < 0.03:
        m["action"] = r.choice(ACTIONS)
        m["text"] = ""
    return {"object": {"message": m, "client_info": {
        "button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback"],
        "keyboard": True, "inline_keyboard": True, "carousel": True, "lang_id": 0}}}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    r = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    users = [r.randint(10**6, 9 * 10**8) for _ in range(200)] + [-r.randint(10**5, 10**8) for _ in range(5)]
    peers = [2000000000 + k for k in range(1, 21)]
    out = sys.stdout
    for _ in range(n):
        k = r.random()
        upd = {"group_id": GROUP, "event_id": "%040x" % r.getrandbits(160), "v": "5.199"}
        if k < 0.7:
            upd["type"] = "message_new"
            upd.update(message_new(r, users, peers))
        elif k < 0.85:
            u = r.choice(users[:200])
            obj = {"user_id": u, "peer_id": r.choice(peers + [u]), "event_id": "%012x" % r.getrandbits(48)}
            if r.random() < 0.8:	# absent for a non-inline keyboard
                obj["conversation_message_id"] = r.randint(1, 10**5)
            if r.random() < 0.9:
                obj["payload"] = r.choice(PAYLOADS)
            upd["type"] = "message_event"
            upd["object"] = obj
        elif k < 0.95:
            u = r.choice(users[:200])
            obj = {"reacted_id": u, "peer_id": r.choice(peers + [u]), "cmid": r.randint(1, 10**5)}
            if r.random() < 0.8:
                obj["reaction_id"] = r.randint(1, 16)
            upd["type"] = "message_reaction_event"
            upd["object"] = obj
        else:
            upd["type"] = r.choice(["message_typing_state", "message_edit", "group_join"])
            upd["object"] = {"from_id": r.choice(users), "state": "typing", "to_id": -218730916}
        # Key order as VK sends it: type, object, group_id, event_id, v.
        upd = {key: upd[key] for key in ("type", "object", "group_id", "event_id", "v")}
        if r.random() < 0.2:
            line = json.dumps(upd, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")
        else:
            line = json.dumps(upd, separators=(",", ":"), ensure_ascii=False)
        out.write(line + "\n")


if __name__ == "__main__":
    main()
