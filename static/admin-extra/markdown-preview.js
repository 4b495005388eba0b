// A "Preview" button under each Markdown textarea of the admin. The server renders and
// sanitizes (incidents.rendering), so the HTML shown is what readers will see.
(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function attach(textarea) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button markdown-preview-button";
    button.textContent = "Preview";
    const output = document.createElement("div");
    output.className = "markdown-preview";
    output.hidden = true;

    button.addEventListener("click", async function () {
      if (!output.hidden) {
        output.hidden = true;
        button.textContent = "Preview";
        return;
      }
      const body = new FormData();
      body.append("text", textarea.value);
      try {
        const response = await fetch(textarea.dataset.markdownPreview, {
          method: "POST",
          body: body,
          headers: { "X-CSRFToken": csrfToken() },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(String(response.status));
        output.innerHTML = await response.text();
      } catch (error) {
        output.textContent = "Preview unavailable (" + error.message + ").";
      }
      output.hidden = false;
      button.textContent = "Hide preview";
    });

    textarea.after(button, output);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-markdown-preview]").forEach(attach);
  });
})();
