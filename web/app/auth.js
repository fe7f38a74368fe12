// The sign-in and join-with-a-code forms. Either opens a session (cookie +
// CSRF token) and calls `enter(person)`; a refusal shows the API's reason.

import { t } from "./i18n.js";

function tabs(doc) {
  const pick = (which) => {
    for (const name of ["signin", "join"]) {
      doc.getElementById(`tab-${name}`).setAttribute("aria-selected", String(name === which));
      doc.getElementById(name).hidden = name !== which;
    }
  };
  doc.getElementById("tab-signin").addEventListener("click", () => pick("signin"));
  doc.getElementById("tab-join").addEventListener("click", () => pick("join"));
}

function reason(r) {
  if (r.status === 429) return `${r.body?.detail ?? ""}`;
  return typeof r.body?.detail === "string" ? r.body.detail : `HTTP ${r.status}`;
}

export function bindAuth(doc, api, enter) {
  tabs(doc);
  const wire = (form, call) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const error = form.querySelector(".error");
      error.hidden = true;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const r = await call(form.elements);
        if (r.status === 201) {
          form.reset();
          await enter({ ...r.body.person });
        } else {
          error.textContent = reason(r);
          error.hidden = false;
        }
      } catch {
        error.textContent = t("conn.offline");
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  };
  wire(doc.getElementById("signin"), (f) => api.signIn(f.login.value.trim(), f.password.value));
  wire(doc.getElementById("join"), (f) =>
    api.join(f.code.value.trim(), f.login.value.trim(), f.password.value),
  );
}
