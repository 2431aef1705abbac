() => {
  // A judging button of a hit (qa/showing/hits_html.py) hands its data to the hidden judgement
  // box and presses the hidden send button: the judge handler records it (qa.serving.handlers).
  document.addEventListener('click', (event) => {
    const button = event.target.closest('.qa-judge-button');
    if (!button) return;
    const box = document.querySelector('#qa-judgement textarea, #qa-judgement input');
    const send = document.querySelector('#qa-judge-send');
    if (!box || !send) return;
    const data = button.dataset;
    box.value = JSON.stringify({question: data.question, source: data.source || null,
      paragraph: data.paragraph ? Number(data.paragraph) : null, verdict: data.verdict,
      quote: data.quote || null});
    box.dispatchEvent(new Event('input', {bubbles: true}));
    button.parentElement.querySelectorAll('.qa-judge-button').forEach(
      (other) => other.setAttribute('aria-pressed', String(other === button)));
    setTimeout(() => send.click(), 0);
  });
}
