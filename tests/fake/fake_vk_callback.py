"""fake_vk_callback.py - the Callback API methods of the fake VK (tests/fake/fake-vk.py).

The community's callback servers live in the server's state, so a test sees
what vk-callback --setup changed by calling again (or in the request log).
Scenario keys (all optional):
  callback_servers    [{"id": N, "url": U, "title": T, "secret_key": S,
                        "status": "ok"}...]   the servers there at the start
  confirmation_code   what groups.getCallbackConfirmationCode gives ("c0ffee42")
  callback_max        servers a community may have (10); one more: error 2000
Every method checks group_id (error 100) as VK does.
"""


def _servers(st):
    with st.lock:
        if not hasattr(st, "cb_servers"):
            st.cb_servers = [dict(s) for s in st.sc.get("callback_servers", [])]
            st.cb_settings = {}
        return st.cb_servers


def _bad_group(st, form):
    if form.get("group_id") != st.group:
        return {"error": {"error_code": 100,
                          "error_msg": "One of the parameters specified was missing "
                                       "or invalid: group_id is undefined"}}
    return None


def _server(st, form):
    try:
        sid = int(form.get("server_id", ""))
    except ValueError:
        return None
    return next((s for s in _servers(st) if s["id"] == sid), None)


def m_get_callback_servers(h, st, form):
    err = _bad_group(st, form)
    if err:
        return err
    items = [dict(s) for s in _servers(st)]
    return {"response": {"count": len(items), "items": items}}


def m_add_callback_server(h, st, form):
    err = _bad_group(st, form)
    if err:
        return err
    servers = _servers(st)
    if len(servers) >= int(st.sc.get("callback_max", 10)):
        return {"error": {"error_code": 2000,
                          "error_msg": "Servers number limit is reached"}}
    if not form.get("url") or not form.get("title"):
        return {"error": {"error_code": 100, "error_msg": "url and title are required"}}
    sid = max([s["id"] for s in servers] + [0]) + 1
    servers.append({"id": sid, "url": form["url"], "title": form["title"],
                    "secret_key": form.get("secret_key", ""), "status": "unconfigured",
                    "creator_id": 1})
    return {"response": {"server_id": sid}}


def m_edit_callback_server(h, st, form):
    err = _bad_group(st, form)
    if err:
        return err
    s = _server(st, form)
    if s is None:
        return {"error": {"error_code": 104, "error_msg": "Not found"}}
    s.update(url=form.get("url", s["url"]), title=form.get("title", s["title"]),
             secret_key=form.get("secret_key", ""))
    return {"response": 1}


def m_set_callback_settings(h, st, form):
    err = _bad_group(st, form)
    if err:
        return err
    s = _server(st, form)
    if s is None:
        return {"error": {"error_code": 104, "error_msg": "Not found"}}
    st.cb_settings[s["id"]] = {k: v for k, v in form.items()
                               if k not in ("access_token", "group_id", "server_id", "v")}
    return {"response": 1}


def m_get_callback_settings(h, st, form):
    err = _bad_group(st, form)
    if err:
        return err
    s = _server(st, form)
    if s is None:
        return {"error": {"error_code": 104, "error_msg": "Not found"}}
    cfg = st.cb_settings.get(s["id"], {})
    return {"response": {"api_version": cfg.get("api_version", "5.131"),
                         "events": {k: int(v) for k, v in cfg.items() if k != "api_version"}}}


def m_get_callback_confirmation_code(h, st, form):
    err = _bad_group(st, form)
    if err:
        return err
    return {"response": {"code": st.sc.get("confirmation_code", "c0ffee42")}}


METHODS = {
    "groups.getCallbackServers": m_get_callback_servers,
    "groups.addCallbackServer": m_add_callback_server,
    "groups.editCallbackServer": m_edit_callback_server,
    "groups.setCallbackSettings": m_set_callback_settings,
    "groups.getCallbackSettings": m_get_callback_settings,
    "groups.getCallbackConfirmationCode": m_get_callback_confirmation_code,
}
