/*
 * Sandbox stand-in for WeChat's JS-SDK (jweixin-1.6.0.js).  Development only.
 *
 * Same global `wx` (and `jWeixin`), same call shapes, same errMsg strings.  wx.config is checked
 * like WeChat checks it: the signature must be sha1 over a jsapi_ticket the sandbox issued to that
 * appId and the page URL without its fragment (POST {sandbox}/phone/api/jssdk-verify); an API
 * called without a successful config, or missing from jsApiList, fails with "<api>:permission denied".
 *
 * Test hooks on window.__wxStandin (set before or after loading):
 *   location   {latitude, longitude, accuracy, speed} — a gcj02 position; getLocation converts it
 *              to wgs84 unless called with type "gcj02" (as the real client does)
 *   scanResult string returned by scanQRCode (otherwise prompt())
 *   autoImage  true: chooseImage yields a generated 1x1 PNG instead of opening a file picker
 *   recordMs   duration of the next recording (otherwise the time from startRecord to stopRecord)
 *   translateResult  text returned by translateVoice
 *   calls      every wx.* call is pushed here as {name, args, time}
 * Without location, localStorage "sandbox_location" (set on the phone page) or Nantong
 * 32.0137,120.8647 accuracy 30 is used.
 */
(function (global) {
  "use strict";

  var standin = global.__wxStandin = global.__wxStandin || {};
  standin.calls = standin.calls || [];

  var script = document.currentScript;
  var BASE = standin.base || (script && /\/static\/jweixin\.js(\?.*)?$/.test(script.src)
    ? script.src.replace(/static\/jweixin\.js(\?.*)?$/, "") : "/sandbox/");

  var configState = { status: "none", appId: null, jsApiList: [] }; // none|pending|ok|failed
  var configPromise = null;
  var readyQueue = [], errorQueue = [];
  var localResources = {}; // localId -> {blob, type}
  var seq = 0;
  var recording = null;
  var recordEndHandlers = [];

  function record(name, args) {
    standin.calls.push({ name: name, args: args, time: Date.now() });
  }

  function later(fn) { setTimeout(fn, 0); }

  function finish(name, opts, outcome, res) {
    opts = opts || {};
    res = res || {};
    res.errMsg = res.errMsg || name + ":" + outcome;
    later(function () {
      var cb = outcome === "ok" ? opts.success : outcome === "cancel" ? opts.cancel : opts.fail;
      if (typeof cb === "function") cb(res);
      if (typeof opts.complete === "function") opts.complete(res);
    });
  }

  // Run an API once config has settled; fail like WeChat when it is not allowed.
  function guarded(name, impl, basic) {
    return function (opts) {
      opts = opts || {};
      record(name, opts);
      var run = function () {
        if (configState.status !== "ok" || (!basic && configState.jsApiList.indexOf(name) < 0)) {
          finish(name, opts, "fail", { errMsg: name + ":permission denied" });
          return;
        }
        try { impl(opts); } catch (e) { finish(name, opts, "fail", { errMsg: name + ":fail " + e.message }); }
      };
      if (configPromise) configPromise.then(run, run); else run();
    };
  }

  // Menu, share and window calls: recorded, answered ok, never refused.
  function noop(name) {
    return function (opts) { record(name, opts || {}); finish(name, opts, "ok"); };
  }

  // -------------------------------------------------------------------- config
  function config(opts) {
    opts = opts || {};
    record("config", opts);
    configState = { status: "pending", appId: opts.appId, jsApiList: (opts.jsApiList || []).slice() };
    var payload = {
      appId: opts.appId, timestamp: String(opts.timestamp), nonceStr: opts.nonceStr,
      signature: opts.signature, url: global.location.href.split("#")[0]
    };
    configPromise = fetch(BASE + "phone/api/jssdk-verify", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload)
    }).then(function (r) { return r.json(); }).then(function (r) {
      if (r.ok) {
        configState.status = "ok";
        if (opts.debug && global.console) console.log("wx.config", { errMsg: "config:ok" });
        readyQueue.forEach(function (cb) { later(cb); });
        readyQueue = [];
      } else {
        configState.status = "failed";
        var res = { errMsg: r.errMsg || "config:invalid signature" };
        if (opts.debug && global.console) console.warn("wx.config", res);
        errorQueue.forEach(function (cb) { later(function () { cb(res); }); });
      }
    }, function () {
      configState.status = "failed";
      errorQueue.forEach(function (cb) { later(function () { cb({ errMsg: "config:fail" }); }); });
    });
  }

  function ready(cb) {
    record("ready", {});
    if (configState.status === "ok") later(cb); else readyQueue.push(cb);
  }

  function error(cb) {
    record("error", {});
    errorQueue.push(cb);
    if (configState.status === "failed") later(function () { cb({ errMsg: "config:invalid signature" }); });
  }

  // -------------------------------------------------------------------- location
  var PI = Math.PI, A = 6378245.0, EE = 0.00669342162296594323;
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    return r;
  }
  function tLng(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    return r;
  }
  function gcjToWgs(lat, lng) {
    var dLat = tLat(lng - 105, lat - 35), dLng = tLng(lng - 105, lat - 35);
    var rad = lat / 180 * PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad), sq = Math.sqrt(magic);
    dLat = dLat * 180 / ((A * (1 - EE)) / (magic * sq) * PI);
    dLng = dLng * 180 / (A / sq * Math.cos(rad) * PI);
    return [lat - dLat, lng - dLng];
  }

  function currentLocation() {
    if (standin.location) return standin.location;
    try {
      var saved = JSON.parse(global.localStorage.getItem("sandbox_location") || "null");
      if (saved && saved.latitude != null) return saved;
    } catch (e) { /* ignore */ }
    return { latitude: 32.0137, longitude: 120.8647, accuracy: 30 };
  }

  var getLocation = guarded("getLocation", function (opts) {
    var loc = currentLocation();
    var lat = Number(loc.latitude), lng = Number(loc.longitude);
    if (opts.type !== "gcj02") {
      var w = gcjToWgs(lat, lng);
      lat = Math.round(w[0] * 1e6) / 1e6;
      lng = Math.round(w[1] * 1e6) / 1e6;
    }
    finish("getLocation", opts, "ok", {
      latitude: lat, longitude: lng, speed: loc.speed != null ? loc.speed : -1,
      accuracy: loc.accuracy != null ? Number(loc.accuracy) : 30
    });
  });

  // -------------------------------------------------------------------- scan
  var scanQRCode = guarded("scanQRCode", function (opts) {
    var result = standin.scanResult != null ? standin.scanResult : global.prompt("扫一扫（沙箱）：粘贴二维码内容");
    if (result == null || result === "") { finish("scanQRCode", opts, "cancel"); return; }
    if (opts.needResult === 1 || opts.needResult === "1") {
      finish("scanQRCode", opts, "ok", { resultStr: String(result) });
    } else {
      finish("scanQRCode", opts, "ok");
    }
  });

  // -------------------------------------------------------------------- images
  var PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

  function b64ToBlob(b64, type) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type: type });
  }

  function keep(blob, type) {
    var id = "wxlocalresource://sbx" + Date.now() + (++seq);
    localResources[id] = { blob: blob, type: type };
    return id;
  }

  var chooseImage = guarded("chooseImage", function (opts) {
    var count = Math.max(1, Math.min(9, opts.count || 9));
    if (standin.autoImage) {
      finish("chooseImage", opts, "ok", { localIds: [keep(b64ToBlob(PNG_1x1, "image/png"), "image/png")] });
      return;
    }
    var input = document.createElement("input");
    input.type = "file";
    input.accept = "image/*";
    input.multiple = count > 1;
    input.style.display = "none";
    input.onchange = function () {
      var files = Array.prototype.slice.call(input.files || [], 0, count);
      input.remove();
      if (!files.length) { finish("chooseImage", opts, "cancel"); return; }
      finish("chooseImage", opts, "ok", {
        localIds: files.map(function (f) { return keep(f, f.type || "image/jpeg"); })
      });
    };
    document.body.appendChild(input);
    input.click();
  });

  function upload(name, kind, type, opts, contentType) {
    var res = localResources[opts.localId];
    if (!res) { finish(name, opts, "fail", { errMsg: name + ":fail, invalid localId" }); return; }
    var url = BASE + "phone/api/media?kind=" + kind + "&type=" + type +
      "&appid=" + encodeURIComponent(configState.appId || "");
    fetch(url, { method: "POST", headers: { "Content-Type": contentType || res.type }, body: res.blob })
      .then(function (r) { return r.json(); })
      .then(function (r) {
        if (r.media_id) finish(name, opts, "ok", { serverId: r.media_id });
        else finish(name, opts, "fail", { errMsg: name + ":fail" });
      }, function () { finish(name, opts, "fail", { errMsg: name + ":fail" }); });
  }

  var uploadImage = guarded("uploadImage", function (opts) { upload("uploadImage", "jssdk", "image", opts); });

  var getLocalImgData = guarded("getLocalImgData", function (opts) {
    var res = localResources[opts.localId];
    if (!res) { finish("getLocalImgData", opts, "fail"); return; }
    var reader = new FileReader();
    reader.onload = function () { finish("getLocalImgData", opts, "ok", { localData: reader.result }); };
    reader.readAsDataURL(res.blob);
  });

  // -------------------------------------------------------------------- voice
  function makeWav(ms) {
    var rate = 16000, n = Math.max(1, Math.round(rate * ms / 1000));
    var buf = new ArrayBuffer(44 + n * 2), v = new DataView(buf);
    function str(off, s) { for (var i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i)); }
    str(0, "RIFF"); v.setUint32(4, 36 + n * 2, true); str(8, "WAVE"); str(12, "fmt ");
    v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
    v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, n * 2, true);
    for (var i = 0; i < n; i++) v.setInt16(44 + i * 2, Math.round(1500 * Math.sin(2 * Math.PI * 440 * i / rate)), true);
    return new Blob([buf], { type: "audio/speex" });
  }

  function endRecording() {
    var ms = standin.recordMs != null ? standin.recordMs : Date.now() - recording.started;
    ms = Math.min(60000, Math.max(1, ms));
    clearTimeout(recording.timer);
    recording = null;
    var id = keep(makeWav(ms), "audio/speex");
    localResources[id].durationMs = ms;
    return id;
  }

  var startRecord = guarded("startRecord", function (opts) {
    if (recording) { finish("startRecord", opts, "fail", { errMsg: "startRecord:fail, recording" }); return; }
    recording = { started: Date.now() };
    // WeChat stops a recording by itself after 60 s and fires onVoiceRecordEnd.
    recording.timer = setTimeout(function () {
      var id = endRecording();
      recordEndHandlers.forEach(function (h) { finish("onVoiceRecordEnd", h, "ok", { localId: id }); });
    }, 60000);
    finish("startRecord", opts, "ok");
  });

  var stopRecord = guarded("stopRecord", function (opts) {
    if (!recording) { finish("stopRecord", opts, "fail", { errMsg: "stopRecord:fail, not recording" }); return; }
    finish("stopRecord", opts, "ok", { localId: endRecording() });
  });

  var onVoiceRecordEnd = guarded("onVoiceRecordEnd", function (opts) { recordEndHandlers.push(opts); });

  var uploadVoice = guarded("uploadVoice", function (opts) {
    upload("uploadVoice", "jssdk", "voice", opts, "audio/speex");
  });

  var translateVoice = guarded("translateVoice", function (opts) {
    finish("translateVoice", opts, "ok", { translateResult: standin.translateResult || "" });
  });

  var checkJsApi = guarded("checkJsApi", function (opts) {
    var result = {};
    (opts.jsApiList || []).forEach(function (api) { result[api] = typeof wx[api] === "function"; });
    finish("checkJsApi", opts, "ok", { checkResult: result });
  }, true);

  var getNetworkType = guarded("getNetworkType", function (opts) {
    finish("getNetworkType", opts, "ok", { networkType: "wifi" });
  });

  var wx = {
    config: config, ready: ready, error: error,
    checkJsApi: checkJsApi,
    getLocation: getLocation, openLocation: noop("openLocation"),
    scanQRCode: scanQRCode,
    chooseImage: chooseImage, uploadImage: uploadImage, downloadImage: noop("downloadImage"),
    getLocalImgData: getLocalImgData, previewImage: noop("previewImage"),
    startRecord: startRecord, stopRecord: stopRecord, onVoiceRecordEnd: onVoiceRecordEnd,
    uploadVoice: uploadVoice, downloadVoice: noop("downloadVoice"), translateVoice: translateVoice,
    playVoice: noop("playVoice"), pauseVoice: noop("pauseVoice"), stopVoice: noop("stopVoice"),
    onVoicePlayEnd: noop("onVoicePlayEnd"),
    getNetworkType: getNetworkType,
    closeWindow: noop("closeWindow"),
    hideMenuItems: noop("hideMenuItems"), showMenuItems: noop("showMenuItems"),
    hideAllNonBaseMenuItem: noop("hideAllNonBaseMenuItem"), showAllNonBaseMenuItem: noop("showAllNonBaseMenuItem"),
    hideOptionMenu: noop("hideOptionMenu"), showOptionMenu: noop("showOptionMenu"),
    updateAppMessageShareData: noop("updateAppMessageShareData"),
    updateTimelineShareData: noop("updateTimelineShareData"),
    onMenuShareAppMessage: noop("onMenuShareAppMessage"), onMenuShareTimeline: noop("onMenuShareTimeline")
  };

  standin.isStandin = true;
  global.wx = global.jWeixin = wx;
})(window);
