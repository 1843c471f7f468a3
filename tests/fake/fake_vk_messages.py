"""fake_vk_messages.py - the messages methods of the fake VK API (tests/fake/fake-vk.py).

  messages.send                  peer_id (or user_id), message, random_id:
                                 posts a message and returns its id; a
                                 random_id already used for that peer posts
                                 nothing and returns the first message's id,
                                 as VK does. A peer_id that is not a number,
                                 or 0: error 100; one in the scenario's
                                 no_access list: error 917.
  messages.sendMessageEventAnswer event_id, user_id, peer_id: returns 1
Scenario keys (all optional):
  no_access   [peer_id, ...]  messages.send there answers error 917
  sent_file   a file each posted message (and answered button) is appended
              to as one JSON line: {"method","peer_id","message","random_id",
              "message_id","keyboard"[,"attachment"]} or {"method","peer_id","event_id","event_data"}; what VK really did, for the tests
The state (message ids, random_ids seen) lives as long as the scenario:
a new vk-call process talks to the same fake and sees the same history.
"""
import json


def _peer(form):
    p = form.get("peer_id", form.get("user_id", ""))
    try:
        return int(p)
    except ValueError:
        return None


def _record(st, rec):
    path = st.sc.get("sent_file")
    if not path:
        return
    with st.lock:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def m_send(h, st, form):
    peer = _peer(form)
    if not peer:
        return {"error": {"error_code": 100, "error_msg":
                          "One of the parameters specified was missing or invalid: "
                          "peer_id is undefined"}}
    if peer in st.sc.get("no_access", []):
        return {"error": {"error_code": 917, "error_msg": "You don't have access to this chat"}}
    rid = form.get("random_id", "0")
    with st.lock:
        seen = st.__dict__.setdefault("random_ids", {})
        if rid != "0" and (peer, rid) in seen:
            return {"response": seen[(peer, rid)]}
        st.__dict__["message_id"] = mid = st.__dict__.get("message_id", 1000) + 1
        if rid != "0":
            seen[(peer, rid)] = mid
    rec = {"method": "messages.send", "peer_id": peer, "message": form.get("message"),
           "random_id": rid, "message_id": mid, "keyboard": form.get("keyboard")}
    if form.get("attachment"):
        rec["attachment"] = form["attachment"]
    _record(st, rec)
    return {"response": mid}


def m_send_event_answer(h, st, form):
    for k in ("event_id", "user_id", "peer_id"):
        if not form.get(k):
            return {"error": {"error_code": 100, "error_msg":
                              "One of the parameters specified was missing or invalid: "
                              "%s is undefined" % k}}
    _record(st, {"method": "messages.sendMessageEventAnswer", "peer_id": _peer(form),
                 "event_id": form.get("event_id"), "event_data": form.get("event_data")})
    return {"response": 1}


METHODS = {
    "messages.send": m_send,
    "messages.sendMessageEventAnswer": m_send_event_answer,
}
