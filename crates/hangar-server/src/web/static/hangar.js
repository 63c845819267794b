// Progressive enhancement only: every flow works without this script.
document.addEventListener("click", (e) => {
  const copy = e.target.closest("[data-copy]");
  if (copy) {
    const field = document.getElementById(copy.dataset.copy);
    if (field && navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(() => { copy.textContent = "Copied"; });
    } else if (field) {
      field.select();
      document.execCommand("copy");
      copy.textContent = "Copied";
    }
  }
});
document.addEventListener("change", (e) => {
  if (e.target.name === "role") {
    const fg = document.getElementById("fine-grained");
    if (fg) fg.hidden = e.target.value !== "fineGrained";
    const pw = document.getElementById("admin-password");
    if (pw) pw.hidden = e.target.value !== "admin";
  }
});
document.addEventListener("DOMContentLoaded", () => {
  const role = document.querySelector("input[name=role]:checked");
  if (role) role.dispatchEvent(new Event("change", { bubbles: true }));
  document.querySelectorAll("form[data-confirm]").forEach((f) => {
    f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  });
});
