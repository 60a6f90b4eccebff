// Passkeys (WebAuthn): a form marked data-passkey="create" or "get" carries the server's
// options as JSON; its button asks the browser, puts the answer (JSON) in the form's
// `credential` field and sends the form. The server checks everything (node/passkeys.py).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-passkey]")) {
    const button = form.querySelector("[data-passkey-start]");
    const status = form.querySelector("[data-passkey-status]");
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      status.textContent = "This browser cannot use passkeys.";
      button.disabled = true;
      continue;
    }
    form.addEventListener("submit", async (event) => {
      if (form.elements.credential.value) return;  // the answer is in: send it
      event.preventDefault();
      const options = JSON.parse(form.dataset.options);
      status.textContent = "Waiting for your passkey…";
      try {
        const credential = form.dataset.passkey === "create"
          ? await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)})
          : await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
        form.elements.credential.value = JSON.stringify(credential.toJSON());
        form.requestSubmit();
      } catch (err) {
        status.textContent = "The passkey was not used (" + err.name + "). Try again.";
      }
    });
  }
});
