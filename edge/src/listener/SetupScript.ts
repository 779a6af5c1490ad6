/**
 * The setup page's script, served as `/setup/setup.js`: plain ES2017 for any phone's browser, no
 * framework. It sends the forms as JSON with the PIN in `X-PIN`, shows each answer's message (as
 * text, never as HTML), fills the camera form for "Edit", and reads a claim code's QR code from a
 * photo: `<input type="file" capture>` opens the phone's camera on a plain-http page, where the live
 * camera API (getUserMedia) is not allowed; the photo is drawn on a canvas and decoded by jsQR
 * (`/setup/jsQR.js`, loaded when first needed).
 *
 * The QR code the admin panel shows holds `<central URL>/claim#code=<code>` (apps/web's ClaimCode.tsx);
 * a QR code holding the code alone fills only the code.
 */

export const SETUP_SCRIPT = String.raw`(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };

  function say(element, text, ok) {
    element.textContent = text;
    element.className = ok === undefined ? "" : ok ? "ok" : "bad";
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-pin": byId("pin").value },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function problem(answer) {
    return answer.body && answer.body.error ? answer.body.error : "the collector answered HTTP " + answer.status;
  }

  function unreachable(element) {
    return function (error) { say(element, "No answer from the collector: " + error.message, false); };
  }

  // <central>/claim#code=<code>, or a code alone.
  function readClaim(text) {
    text = String(text).trim();
    try {
      var url = new URL(text);
      var code = new URLSearchParams(url.hash.slice(1)).get("code");
      if ((url.protocol === "https:" || url.protocol === "http:") && code) {
        return { central: url.origin + url.pathname.replace(/\/claim\/?$/, ""), code: code };
      }
    } catch (e) {
      // not a URL
    }
    if (/^[0-9A-Za-z][0-9A-Za-z -]{6,62}[0-9A-Za-z]$/.test(text)) return { code: text };
    return undefined;
  }

  var decoder;
  function loadDecoder() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!decoder) {
      decoder = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = "/setup/jsQR.js";
        script.onload = function () { resolve(window.jsQR); };
        script.onerror = function () { decoder = undefined; reject(new Error("the QR decoder did not load")); };
        document.head.appendChild(script);
      });
    }
    return decoder;
  }

  function loadImage(file) {
    return new Promise(function (resolve, reject) {
      var image = new Image();
      var url = URL.createObjectURL(file);
      image.onload = function () { URL.revokeObjectURL(url); resolve(image); };
      image.onerror = function () { URL.revokeObjectURL(url); reject(new Error("the photo could not be read")); };
      image.src = url;
    });
  }

  // A phone's photo has far more pixels than a QR code needs: smaller first, which is quicker.
  function decode(jsQR, image) {
    var sides = [800, 1600, 3200];
    for (var i = 0; i < sides.length; i++) {
      var scale = Math.min(1, sides[i] / Math.max(image.naturalWidth, image.naturalHeight));
      var width = Math.max(1, Math.round(image.naturalWidth * scale));
      var height = Math.max(1, Math.round(image.naturalHeight * scale));
      var canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      var context = canvas.getContext("2d");
      context.drawImage(image, 0, 0, width, height);
      var found = jsQR(context.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: "attemptBoth" });
      if (found) return found.data;
      if (scale === 1) break;
    }
    return undefined;
  }

  var qrFile = byId("qr-file");
  if (qrFile) {
    qrFile.addEventListener("change", function () {
      var result = byId("qr-result");
      var file = qrFile.files && qrFile.files[0];
      if (!file) return;
      say(result, "Reading the QR code...");
      Promise.all([loadDecoder(), loadImage(file)]).then(function (loaded) {
        var text = decode(loaded[0], loaded[1]);
        if (text === undefined) throw new Error("No QR code found in the photo: take it again, closer, with the whole code in the picture.");
        var claim = readClaim(text);
        if (!claim) throw new Error("This QR code is not a claim code from the admin panel.");
        if (claim.central) byId("central_url").value = claim.central;
        byId("code").value = claim.code;
        say(result, "Read: " + (claim.central ? claim.central + ", " : "") + "code " + claim.code + ". Enter the PIN and press Claim.", true);
      }).catch(function (error) { say(result, error.message, false); });
    });
  }

  var claimForm = byId("claim-form");
  if (claimForm) {
    claimForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var result = byId("claim-result");
      say(result, "Claiming...");
      post("/setup/claim", { central_url: byId("central_url").value, code: byId("code").value }).then(function (answer) {
        if (answer.status !== 200) return say(result, problem(answer), false);
        say(result, "Claimed: collector " + answer.body.collector_id + " of " + answer.body.central_url + ". The collector starts now.", true);
        setTimeout(function () { location.reload(); }, 4000);
      }, unreachable(result));
    });
  }

  var FIELDS = ["id", "name", "vendor", "mode", "url", "username", "mac"];

  function cameraOfForm() {
    var camera = {};
    FIELDS.forEach(function (field) {
      var value = byId("camera-" + field).value.trim();
      if (value !== "") camera[field] = value;
    });
    return camera;
  }

  function cameraBody() {
    var password = byId("camera-password").value;
    return password === "" ? { camera: cameraOfForm() } : { camera: cameraOfForm(), password: password };
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-camera]"), function (button) {
    button.addEventListener("click", function () {
      var camera = JSON.parse(button.getAttribute("data-camera"));
      FIELDS.forEach(function (field) { byId("camera-" + field).value = camera[field] === undefined ? "" : camera[field]; });
      byId("camera-password").value = "";
      say(byId("camera-result"), "Editing " + camera.id + ": leave the password empty to keep the stored one.");
      byId("camera-form").scrollIntoView();
    });
  });

  var cameraForm = byId("camera-form");
  if (cameraForm) {
    byId("camera-test").addEventListener("click", function () {
      var result = byId("camera-result");
      say(result, "Testing the connection (up to 10 s)...");
      post("/setup/cameras/test", cameraBody()).then(function (answer) {
        if (answer.status !== 200) return say(result, problem(answer), false);
        say(result, (answer.body.ok ? "Connection OK: " : "Connection failed: ") + answer.body.message, answer.body.ok);
      }, unreachable(result));
    });
    cameraForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var result = byId("camera-result");
      say(result, "Saving...");
      post("/setup/cameras", cameraBody()).then(function (answer) {
        if (answer.status !== 200) return say(result, problem(answer), false);
        byId("camera-password").value = "";
        say(result, "Saved: " + answer.body.message, true);
        setTimeout(function () { location.reload(); }, 3000);
      }, unreachable(result));
    });
  }
})();
`
