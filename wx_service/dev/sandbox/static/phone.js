/* The sandbox phone: a small WeChat client.  No build step, no dependencies. */
(function () {
  "use strict";
  var S = window.SANDBOX;
  var $ = function (id) { return document.getElementById(id); };
  var lastInbox = "";

  function account() { return $("account").value; }
  function openid() { return $("openid").value.trim(); }

  function api(path, opts) {
    return fetch(S.base + path, opts).then(function (r) { return r.json(); });
  }
  function post(path, body) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  function remember() {
    localStorage.setItem("sandbox_account", account());
    localStorage.setItem("sandbox_openid", openid());
    document.cookie = "sandbox_openid=" + encodeURIComponent(openid()) + "; path=/; SameSite=Lax";
  }

  function send(kind, fields) {
    if (!openid()) { alert("请先填写 openid"); return Promise.resolve(null); }
    remember();
    var body = Object.assign({ account: account(), openid: openid(), kind: kind }, fields || {});
    return post("phone/api/send", body).then(function (r) { refresh(); return r; });
  }

  // ------------------------------------------------------------------ conversation
  // A text reply as WeChat shows it: <a href="…">label</a> with an http(s) address is a link, and so is
  // a bare http(s) address; everything else (any other tag, a javascript: href) stays text.  Built as
  // DOM nodes, so nothing of the reply is ever parsed as HTML.
  var ANCHOR = /<a\s+href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))\s*>([\s\S]*?)<\/a\s*>/gi;
  var BARE_URL = /https?:\/\/[^\s<>"']+/gi;

  function safeUrl(url) { return /^https?:\/\//i.test(url || "") ? url : null; }

  function link(url, label) {
    var a = document.createElement("a");
    a.setAttribute("href", url);
    a.setAttribute("data-webview", "1");
    a.textContent = label;
    return a;
  }

  function appendText(box, text) {
    var last = 0;
    text.replace(BARE_URL, function (url, at) {
      box.appendChild(document.createTextNode(text.slice(last, at)));
      box.appendChild(link(url, url));
      last = at + url.length;
    });
    box.appendChild(document.createTextNode(text.slice(last)));
  }

  function linkify(text) {
    var box = document.createElement("div"), last = 0;
    text = text || "";
    text.replace(ANCHOR, function (whole, dq, sq, bare, label, at) {
      var url = safeUrl(dq != null ? dq : sq != null ? sq : bare);
      if (!url) return whole;  // not a web link: left in the text, shown as typed
      appendText(box, text.slice(last, at));
      box.appendChild(link(url, label));
      last = at + whole.length;
      return whole;
    });
    appendText(box, text.slice(last));
    return box.innerHTML;
  }

  function bubble(cls, html, meta) {
    var row = document.createElement("div");
    row.className = "msg " + cls;
    var b = document.createElement("div");
    b.className = "bubble";
    b.innerHTML = html + (meta ? '<span class="meta">' + meta + "</span>" : "");
    row.appendChild(b);
    return row;
  }

  function esc(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
  function clock(t) { return new Date(t * 1000).toLocaleTimeString(); }

  var KIND_LABEL = {
    subscribe: "关注了公众号", unsubscribe: "取消了关注", click: "点击菜单", view: "打开网页",
    scancode_waitmsg: "扫一扫", scancode_push: "扫一扫", location_event: "上报了位置", scan: "扫码"
  };

  function outgoing(item) {
    var f = item.fields || {};
    switch (item.kind) {
      case "text": return bubble("me", esc(f.content), clock(item.time));
      case "voice": return bubble("me", "[语音]" + (f.recognition ? "：" + esc(f.recognition) : ""), clock(item.time));
      case "image": return bubble("me", "[图片]", clock(item.time));
      case "location": return bubble("me", "[位置] " + esc(f.label || (f.latitude + "," + f.longitude)), clock(item.time));
      default:
        var extra = f.scan_result ? "：" + esc(f.scan_result) : (f.event_key && item.kind === "click" ? "（" + esc(f.event_key) + "）" : "");
        return bubble("system", esc(KIND_LABEL[item.kind] || item.kind) + extra);
    }
  }

  function incoming(item) {
    if (!item.ok) return bubble("error", "该公众号暂时无法提供服务，请稍后再试", esc(item.error || ""));
    var r = item.reply;
    if (!r) return null;
    if (r.MsgType === "news" && r.Articles) {
      return bubble("", r.Articles.map(function (a) {
        var title = "<b>" + esc(a.Title) + "</b>";
        return (safeUrl(a.Url) ? '<a href="' + esc(a.Url) + '" data-webview="1">' + title + "</a>" : title) +
          "<br>" + esc(a.Description || "");
      }).join("<hr>"));
    }
    return bubble("", linkify(item.reply_text || ""));
  }

  function template(item) {
    var row = document.createElement("div");
    row.className = "msg";
    var html = '<div class="tpl"><h4>模板消息</h4><dl>';
    Object.keys(item.data || {}).forEach(function (k) {
      html += "<dt>" + esc(k) + "</dt><dd>" + esc(item.data[k].value) + "</dd>";
    });
    html += "</dl>";
    (item.warnings || []).forEach(function (w) { html += '<div class="warn">注意：' + esc(w) + "</div>"; });
    if (item.url) html += '<a class="more" href="' + esc(item.url) + '" data-webview="1">详情 ›</a>';
    html += '<span class="meta muted small">' + esc(item.template_id) + " · " + clock(item.time) + "</span></div>";
    row.innerHTML = html;
    return row;
  }

  function custom(item) {
    if (item.msgtype === "text") return bubble("", linkify(item.text.content), "客服消息 · " + clock(item.time));
    return bubble("", "[" + esc(item.msgtype) + "]", "客服消息 · " + clock(item.time));
  }

  function refresh() {
    if (!openid()) return;
    var q = "?account=" + encodeURIComponent(account()) + "&openid=" + encodeURIComponent(openid());
    api("phone/api/inbox" + q).then(function (r) {
      var key = JSON.stringify(r.items);
      if (key === lastInbox) return;
      lastInbox = key;
      var chat = $("chat");
      chat.innerHTML = "";
      r.items.forEach(function (item) {
        var nodes = item.type === "callback" ? [outgoing(item), incoming(item)]
          : item.type === "template" ? [template(item)] : [custom(item)];
        nodes.forEach(function (n) { if (n) chat.appendChild(n); });
      });
      chat.scrollTop = chat.scrollHeight;
    });
    api("phone/api/menu" + q).then(renderMenu);
  }

  // ------------------------------------------------------------------ menu
  var lastMenu = "";
  function renderMenu(r) {
    var key = JSON.stringify(r);
    if (key === lastMenu) return;
    lastMenu = key;
    $("status").textContent = (r.following ? "已关注" : "未关注") +
      (r.tags.length ? " · 标签：" + r.tags.map(function (t) { return t.name + "(" + t.id + ")"; }).join("、") : "");
    var nav = $("menu");
    var tops = Array.prototype.slice.call(nav.querySelectorAll(".top"));
    var wasOpen = tops.findIndex(function (t) { var s = t.querySelector(".sub"); return s && !s.hidden; });
    nav.innerHTML = "";
    if (!r.menu) { nav.innerHTML = '<span class="empty">公众号尚未设置菜单</span>'; return; }
    r.menu.button.forEach(function (b) {
      var top = document.createElement("div");
      top.className = "top";
      var btn = document.createElement("button");
      btn.textContent = (b.sub_button && b.sub_button.length ? "≡ " : "") + b.name;
      top.appendChild(btn);
      if (b.sub_button && b.sub_button.length) {
        var sub = document.createElement("div");
        sub.className = "sub";
        sub.hidden = true;
        b.sub_button.forEach(function (s) {
          var sb = document.createElement("button");
          sb.textContent = s.name;
          sb.onclick = function () { closeMenus(); tap(s, r.menu.menuid); };
          sub.appendChild(sb);
        });
        top.appendChild(sub);
        btn.onclick = function () {
          var open = !sub.hidden;
          closeMenus();
          if (open) return;
          sub.style.left = (top.offsetLeft + 4) + "px";  // above its own button, as in WeChat
          sub.style.width = (top.offsetWidth - 8) + "px";
          sub.hidden = false;
        };
      } else {
        btn.onclick = function () { closeMenus(); tap(b, r.menu.menuid); };
      }
      nav.appendChild(top);
    });
    var reopen = nav.querySelectorAll(".top > button")[wasOpen];  // a re-render keeps an open sub-menu open
    if (wasOpen >= 0 && reopen && reopen.nextSibling) reopen.click();
  }

  function closeMenus() {
    document.querySelectorAll(".menu .sub").forEach(function (x) { x.hidden = true; });
  }
  // a tap anywhere else closes an open sub-menu, as in WeChat
  document.addEventListener("click", function (e) { if (!e.target.closest(".menu")) closeMenus(); });

  function tap(b, menuid) {
    switch (b.type) {
      case "view":
      case "miniprogram":
        send("view", { event_key: b.url, menu_id: menuid });
        openWebview(b.url);
        break;
      case "click":
        send("click", { event_key: b.key });
        break;
      case "scancode_waitmsg":
      case "scancode_push":
        var result = prompt("扫一扫：粘贴二维码内容");
        if (result) send(b.type, { event_key: b.key, scan_result: result, scan_type: "qrcode" });
        break;
      default:
        alert("沙箱暂不支持此类按钮：" + b.type);
    }
  }

  // ------------------------------------------------------------------ webview
  function openWebview(url) {
    remember();
    $("webview").hidden = false;
    $("webview-title").textContent = url;
    $("webview-open").href = url;
    $("webview-frame").src = url;
  }
  function closeWebview() { $("webview").hidden = true; $("webview-frame").src = "about:blank"; }
  $("webview-close").onclick = function () { closeWebview(); refresh(); };
  $("webview-frame").addEventListener("load", function () {
    try {
      var doc = $("webview-frame").contentDocument;
      if (doc && doc.location.href !== "about:blank") {
        $("webview-title").textContent = doc.title || doc.location.href;
        $("webview-open").href = doc.location.href;
      }
    } catch (e) { /* another origin */ }
  });
  $("chat").addEventListener("click", function (e) {
    var a = e.target.closest("a[data-webview]");
    if (a) { e.preventDefault(); openWebview(a.getAttribute("href")); }
  });

  // ------------------------------------------------------------------ controls
  $("send").onclick = function () {
    var text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    send("text", { content: text });
  };
  $("text").addEventListener("keydown", function (e) { if (e.key === "Enter") $("send").click(); });
  $("follow").onclick = function () { send("subscribe"); };
  $("unfollow").onclick = function () { send("unsubscribe"); };

  function showTool(id) {
    var tool = $(id), wasOpen = !$("tools").hidden && !tool.hidden;
    ["tool-voice", "tool-scan"].forEach(function (t) { $(t).hidden = true; });
    $("tools").hidden = wasOpen;
    tool.hidden = wasOpen;
  }
  $("voice-btn").onclick = function () { showTool("tool-voice"); };
  $("scan-btn").onclick = function () { showTool("tool-scan"); };

  $("voice-send").onclick = function () {
    var file = $("voice-file").files[0];
    var seconds = $("voice-seconds").value || 3;
    var recognition = $("voice-recognition").value;
    var upload = file
      ? fetch(S.base + "phone/api/media?kind=chat&type=voice&account=" + encodeURIComponent(account()),
        { method: "POST", body: file }).then(function (r) { return r.json(); })
      : Promise.resolve({});
    upload.then(function (m) {
      send("voice", { media_id: m.media_id || "", seconds: seconds, recognition: recognition });
      $("tools").hidden = true;
      $("voice-file").value = "";
    });
  };

  $("scan-send").onclick = function () {
    var result = $("scan-result").value.trim();
    if (!result) return;
    // The button key of the menu's scancode_waitmsg button, when there is one.
    var key = "";
    try {
      JSON.parse(lastMenu).menu.button.forEach(function (b) {
        (b.sub_button && b.sub_button.length ? b.sub_button : [b]).forEach(function (s) {
          if (!key && (s.type === "scancode_waitmsg" || s.type === "scancode_push")) key = s.key;
        });
      });
    } catch (e) { /* no menu */ }
    send("scancode_waitmsg", { event_key: key, scan_result: result, scan_type: "qrcode" });
    $("scan-result").value = "";
    $("tools").hidden = true;
  };

  function location() {
    var saved = {};
    try { saved = JSON.parse(localStorage.getItem("sandbox_location") || "{}"); } catch (e) { /* ignore */ }
    return { latitude: saved.latitude || 32.0137, longitude: saved.longitude || 120.8647, accuracy: saved.accuracy || 30 };
  }
  $("save-location").onclick = function () {
    var loc = { latitude: parseFloat($("lat").value), longitude: parseFloat($("lng").value), accuracy: parseFloat($("acc").value) || 30 };
    if (isNaN(loc.latitude) || isNaN(loc.longitude)) { alert("请填写纬度与经度"); return; }
    localStorage.setItem("sandbox_location", JSON.stringify(loc));
  };
  $("send-location").onclick = function () {
    var loc = location();
    send("location_event", { latitude: loc.latitude, longitude: loc.longitude, precision: loc.accuracy });
  };
  $("scan-follow").onclick = function () {
    var scene = $("scene").value.trim();
    if (!scene) return;
    // WeChat sends subscribe (qrscene_...) to a new follower and SCAN to a follower.
    var following = lastMenu && JSON.parse(lastMenu).following;
    send(following ? "scan" : "subscribe", { event_key: scene });
  };

  function switchUser() {  // another phone: the page the last person had open is not theirs
    closeWebview();
    lastInbox = ""; lastMenu = "";
    $("title").textContent = $("account").selectedOptions[0].textContent.split("（")[0];
    remember();
    fetch(S.base + "phone/api/new-person", { method: "POST", credentials: "same-origin" }).finally(refresh);
  }
  $("account").onchange = switchUser;
  $("openid").onchange = switchUser;

  var saved = localStorage.getItem("sandbox_account");
  if (saved && S.accounts.some(function (a) { return a.name === saved; })) $("account").value = saved;
  if (localStorage.getItem("sandbox_openid")) $("openid").value = localStorage.getItem("sandbox_openid");
  var loc = location();
  $("lat").value = loc.latitude; $("lng").value = loc.longitude; $("acc").value = loc.accuracy;
  switchUser();
  setInterval(refresh, 2000);
})();
