// Upload progress for the volunteer form: the same multipart POST, sent with XMLHttpRequest so
// the phone shows a progress bar, answered as JSON and listed per photo. Without this script
// the form posts normally and the server answers with a result page.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var bar = document.getElementById("progress");
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var send = document.getElementById("send");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    send.disabled = true;
    status.textContent = "Sending…";
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", function () {
      send.disabled = false;
      bar.value = 100;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      while (list.firstChild) list.removeChild(list.firstChild);
      if (!body) { status.textContent = "Upload failed (" + xhr.status + ")."; return; }
      if (body.error) { status.textContent = "Refused: " + body.error; return; }
      status.textContent = "Report " + body.report + " received.";
      body.results.forEach(function (r) {
        var li = document.createElement("li");
        li.className = "result " + r.status;
        var b = document.createElement("strong");
        b.textContent = r.file_name;
        li.appendChild(b);
        li.appendChild(document.createTextNode(": " + r.outcome));
        list.appendChild(li);
      });
      form.reset();
    });
    xhr.addEventListener("error", function () {
      send.disabled = false;
      status.textContent = "Network error: nothing was sent. Try again.";
    });
    xhr.send(new FormData(form));
  });
})();
