// Small behaviours that CSP forbids inline: report failed HTMX requests instead of failing silently.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr ? event.detail.xhr.status : "?";
  var box = document.querySelector(".page");
  if (!box) return;
  var note = document.createElement("p");
  note.className = "error";
  note.textContent = (document.documentElement.lang === "en" ? "Request failed: " : "请求失败：") + status;
  box.prepend(note);
});
