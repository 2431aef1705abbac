() => {
  // Once per page: a click on anything holding data-qa-query (a facet, a chip's ×, a past
  // question) puts that question in the box and asks it, with the page's other options as set.
  if (window.qaRefineInstalled) return;
  window.qaRefineInstalled = true;
  document.addEventListener('click', (event) => {
    const asking = event.target.closest('[data-qa-query]');
    if (!asking) return;
    event.preventDefault();
    const box = document.querySelector('#qa-question textarea');
    const ask = document.querySelector('#qa-ask');
    if (!box || !ask) return;
    box.value = asking.dataset.qaQuery;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => ask.click(), 0);  // after the box's new value reached Gradio
  });
}
