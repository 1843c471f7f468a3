#!/usr/bin/env python3
"""gen-types.py N [SEED] - N raw VK updates of every type but the seed's
(contract v3), one per line, for the jq differential test.

Deterministic for a given N and SEED. Each type of vk-event(7)'s table and a
few types VK may add; the actor fields (user_id, from_id, deleter_id,
liker_id, peer_id) present as integers, or absent, null, strings, fractions
or negative (communities); objects nested, Cyrillic and emoji, some escaped
as VK escapes them; message_edit/message_reply as full messages; a few
updates without event_id or object. Ids below 2**53 (jq reads doubles).
"""
import json
import random
import sys

TYPES = ["message_edit", "message_reply", "message_typing_state", "message_allow",
         "message_deny", "message_read", "wall_post_new", "wall_repost",
         "wall_schedule_post_new", "wall_reply_new", "wall_reply_edit",
         "wall_reply_restore", "photo_comment_new", "photo_comment_edit",
         "photo_comment_restore", "video_comment_new", "video_comment_edit",
         "video_comment_restore", "board_post_new", "board_post_edit",
         "board_post_restore", "market_comment_new", "market_comment_edit",
         "market_comment_restore", "wall_reply_delete", "photo_comment_delete",
         "video_comment_delete", "board_post_delete", "market_comment_delete",
         "photo_new", "audio_new", "video_new", "wall_schedule_post_delete",
         "donut_money_withdraw", "donut_money_withdraw_error", "group_join",
         "group_leave", "user_block", "user_unblock", "group_officers_edit",
         "group_change_settings", "group_change_photo", "poll_vote_new",
         "market_order_new", "market_order_edit", "app_payload", "lead_forms_new",
         "donut_subscription_create", "donut_subscription_prolonged",
         "donut_subscription_expired", "donut_subscription_cancelled",
         "donut_subscription_price_changed", "like_add", "like_remove",
         "vkpay_transaction", "story_reply_new", "future_type_x"]
ACTORS = ["user_id", "from_id", "deleter_id", "liker_id", "peer_id", "admin_id"]
WORDS = ["привет", "бот", "😀", "🔥", "hello", "лайк", "комментарий", "\"q\"", "a/b", "tab\t", "\\"]
GROUP = 218730916


def text(r):
    return " ".join(r.choice(WORDS) for _ in range(r.randint(0, 6)))


def actor(r):
    k = r.random()
    if k < 0.7:
        return r.randint(10**6, 9 * 10**8)
    if k < 0.8:
        return -r.randint(10**5, 10**8)
    if k < 0.85:
        return 2000000000 + r.randint(1, 40)
    return r.choice([None, "12345", 1.5, True, [], {}])


def value(r, depth=0):
    k = r.random()
    if depth > 2 or k < 0.3:
        return r.randint(-10**9, 10**9)
    if k < 0.6:
        return text(r)
    if k < 0.7:
        return r.choice([True, False, None, 0, 1])
    if k < 0.85:
        return [value(r, depth + 1) for _ in range(r.randint(0, 3))]
    return {"k%d" % i: value(r, depth + 1) for i in range(r.randint(0, 3))}


def reply(r):
    m = {"from_id": actor(r), "text": text(r), "date": 1733377000}
    if r.random() < 0.7:
        m["conversation_message_id"] = r.randint(1, 10**5)
    return m


def message(r):
    m = {"date": 1733377000 + r.randint(0, 10**5), "id": r.randint(0, 10**6), "out": r.randint(0, 1),
         "text": text(r) if r.random() < 0.9 else r.choice([None, 5]), "attachments": [], "fwd_messages": []}
    for k in ("from_id", "peer_id"):
        if r.random() < 0.9:
            m[k] = actor(r)
    if r.random() < 0.9:
        m["conversation_message_id"] = r.randint(1, 10**5)
    if r.random() < 0.3:
        m["attachments"] = [{"type": r.choice(["photo", "doc", "sticker"]), "x": value(r)} for _ in range(r.randint(1, 3))]
    if r.random() < 0.2:
        m["reply_message"] = reply(r)
    if r.random() < 0.2:
        m["fwd_messages"] = [reply(r) for _ in range(r.randint(1, 2))]
    if r.random() < 0.2:
        m["payload"] = r.choice(['{"button":"1"}', "not json", "42", '"s"'])
    if r.random() < 0.05:
        m["action"] = {"type": "chat_invite_user", "member_id": actor(r)}
    if r.random() < 0.05:
        m["geo"] = {"type": "point"}
    return m


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    r = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    for i in range(n):
        t = r.choice(TYPES)
        if t in ("message_edit", "message_reply"):
            obj = message(r)
            if r.random() < 0.1:
                obj = {"message": obj}
        else:
            obj = {k: actor(r) for k in ACTORS if r.random() < 0.4}
            obj.update({"f%d" % j: value(r) for j in range(r.randint(0, 4))})
            obj["text"] = text(r)
        upd = {"type": t, "object": obj, "group_id": GROUP, "event_id": "%040x" % r.getrandbits(160), "v": "5.199"}
        if r.random() < 0.03:
            del upd["event_id"]
        if r.random() < 0.02:
            upd["object"] = r.choice([None, [1, 2], "s"]) if r.random() < 0.5 else upd.pop("object") and None
            if upd["object"] is None:
                del upd["object"]
        if r.random() < 0.25:
            line = json.dumps(upd, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")
        else:
            line = json.dumps(upd, separators=(",", ":"), ensure_ascii=False)
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
