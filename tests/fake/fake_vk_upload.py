"""fake_vk_upload.py - uploads in the fake VK API (tests/fake/fake-vk.py).

  photos.getMessagesUploadServer  peer_id -> {"upload_url": .../upload/photo}
  docs.getMessagesUploadServer    type (doc|audio_message), peer_id
                                  -> {"upload_url": .../upload/<type>}
  POST /upload/<type>             the upload server: a multipart/form-data
                                  body with one part, field "photo" (photos)
                                  or "file" (others), with a file name; kept
                                  and answered as VK does: {"server","photo",
                                  "hash"} or {"file"}; anything else: HTTP
                                  400. It is not an API call (not rate-limited);
                                  faults "on": "upload" apply to it.
  photos.saveMessagesPhoto        photo, server, hash of an upload
                                  -> [{"id","owner_id","access_key",...}]
  docs.save                       file (, title) -> {"type": T, T: {...}}

Each upload is logged (--log) as {"endpoint": "upload", "type", "field",
"filename", "size", "sha256", "token_seen", "ok"} and its bytes written to
the scenario's upload_store directory as u<N> (when given). token_seen: the
scenario's token was somewhere in the request (URL, headers or body).
Scenario keys: upload_store (a directory), upload_url (given instead of the
fake's own, e.g. a port nothing listens on).
"""
import email.parser
import email.policy
import hashlib
import json
import os
import time


def _server_url(h, kind):
    st = h.server.state
    if st.sc.get("upload_url"):
        return st.sc["upload_url"]
    return "http://127.0.0.1:%d/upload/%s?srv=1&gid=42" % (h.server.server_address[1], kind)


def m_photo_server(h, st, form):
    if not form.get("peer_id"):
        return {"error": {"error_code": 100, "error_msg": "peer_id is undefined"}}
    return {"response": {"upload_url": _server_url(h, "photo"), "album_id": -64,
                         "group_id": 42}}


def m_doc_server(h, st, form):
    t = form.get("type", "doc")
    if t not in ("doc", "audio_message") or not form.get("peer_id"):
        return {"error": {"error_code": 100, "error_msg": "type or peer_id is invalid"}}
    return {"response": {"upload_url": _server_url(h, t)}}


def _uploads(st):
    return st.__dict__.setdefault("uploads", {})


def handle(h, st):
    """POST /upload/<type>: the upload server."""
    seq, f = st.count("upload")
    kind = h.path.split("?")[0].rsplit("/", 1)[-1]
    n = int(h.headers.get("Content-Length") or 0)
    body = h.rfile.read(n)
    tok = st.token.encode()
    token_seen = tok in body or tok in h.path.encode() or tok in str(h.headers).encode()
    rec = {"n": seq, "t": time.time(), "endpoint": "upload", "type": kind,
           "token_seen": token_seen, "fault": f and f["do"], "ok": False}
    if f and h.common_fault(f):
        return h.log_rec(rec)
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + (h.headers.get("Content-Type") or "").encode() + b"\r\n\r\n" + body)
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    want = "photo" if kind == "photo" else "file"
    if len(parts) == 1:
        p = parts[0]
        rec.update(field=p.get_param("name", header="content-disposition"),
                   filename=p.get_filename())
        data = p.get_payload(decode=True) or b""
        rec.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    if token_seen or kind not in ("photo", "doc", "audio_message") or len(parts) != 1 \
            or rec.get("field") != want or not rec.get("filename"):
        h.log_rec(rec)
        return h.reply(400, "bad upload", "text/plain")
    with st.lock:
        up = _uploads(st)
        uid = "u%d" % (len(up) + 1)
        up[uid] = {"type": kind, "filename": rec["filename"], "size": len(data)}
    store = st.sc.get("upload_store")
    if store:
        with open(os.path.join(store, uid), "wb") as out:
            out.write(data)
    rec.update(ok=True, id=uid)
    h.log_rec(rec)
    hsh = hashlib.md5(uid.encode()).hexdigest()
    if kind == "photo":
        return h.reply_json({"server": 625130, "photo": json.dumps([{"photo": uid, "sizes": []}]),
                             "hash": hsh})
    return h.reply_json({"file": "%s|%s" % (uid, hsh)})


def m_save_photo(h, st, form):
    try:
        uid = json.loads(form.get("photo", ""))[0]["photo"]
    except (ValueError, KeyError, IndexError, TypeError):
        uid = None
    up = _uploads(st).get(uid)
    if not up or up["type"] != "photo" or form.get("server") != "625130" \
            or form.get("hash") != hashlib.md5(uid.encode()).hexdigest():
        return {"error": {"error_code": 121, "error_msg": "Invalid hash"}}
    n = int(uid[1:])
    return {"response": [{"album_id": -64, "date": 1700000000, "id": 457239000 + n,
                          "owner_id": -42, "access_key": "ak%d" % n, "sizes": [],
                          "text": ""}]}


def m_save_doc(h, st, form):
    uid, _, hsh = form.get("file", "").partition("|")
    up = _uploads(st).get(uid)
    if not up or up["type"] == "photo" or hsh != hashlib.md5(uid.encode()).hexdigest():
        return {"error": {"error_code": 100, "error_msg": "file is invalid"}}
    n = int(uid[1:])
    t = up["type"]
    return {"response": {"type": t, t: {"id": 66000 + n, "owner_id": -42,
                                         "title": form.get("title") or up["filename"],
                                         "size": up["size"]}}}


METHODS = {
    "photos.getMessagesUploadServer": m_photo_server,
    "docs.getMessagesUploadServer": m_doc_server,
    "photos.saveMessagesPhoto": m_save_photo,
    "docs.save": m_save_doc,
}
