"""fake_vk_names.py - the name methods of the fake VK API (tests/fake/fake-vk.py).

Every id has a name unless the scenario says otherwise:
  user N        first_name "Имя<N>", last_name "Фамилия<N>", domain "id<N>"
  community N   name "Сообщество <N>", screen_name "club<N>"
  chat peer P   title "Чат <P - 2000000000>"
Scenario keys (all optional):
  users   {"<id>": {...user fields...} or null}   null: VK returns no item
  groups  {"<id>": {...group fields...} or null}
  chats   {"<peer_id>": "title" or null}           null: no item (no rights)
  chat_access  false: messages.getConversationsById answers error 917
  groups_legacy true: groups.getById answers a bare array (API < 5.194)
The request log (--log) shows each call with its form: tests count them.
"""


def _ids(form, key):
    return [int(x) for x in form.get(key, "").split(",") if x.strip()]


def m_users_get(h, st, form):
    over = st.sc.get("users", {})
    out = []
    for i in _ids(form, "user_ids"):
        u = over.get(str(i), {"first_name": "Имя%d" % i, "last_name": "Фамилия%d" % i,
                              "domain": "id%d" % i})
        if u is None:
            continue
        u = dict(u)
        u["id"] = i
        if "domain" not in form.get("fields", ""):
            u.pop("domain", None)
        out.append(u)
    return {"response": out}


def m_groups_get_by_id(h, st, form):
    over = st.sc.get("groups", {})
    out = []
    for i in _ids(form, "group_ids"):
        g = over.get(str(i), {"name": "Сообщество %d" % i, "screen_name": "club%d" % i})
        if g is None:
            continue
        g = dict(g)
        g["id"] = i
        out.append(g)
    if st.sc.get("groups_legacy"):
        return {"response": out}
    return {"response": {"groups": out, "profiles": []}}


def m_get_conversations_by_id(h, st, form):
    if st.sc.get("chat_access") is False:
        return {"error": {"error_code": 917,
                          "error_msg": "You don't have access to this chat"}}
    over = st.sc.get("chats", {})
    items = []
    for p in _ids(form, "peer_ids"):
        title = over.get(str(p), "Чат %d" % (p - 2000000000))
        if title is None:
            continue
        items.append({"peer": {"id": p, "type": "chat", "local_id": p - 2000000000},
                      "chat_settings": {"title": title, "members_count": 5}})
    return {"response": {"count": len(items), "items": items}}


METHODS = {
    "users.get": m_users_get,
    "groups.getById": m_groups_get_by_id,
    "messages.getConversationsById": m_get_conversations_by_id,
}
