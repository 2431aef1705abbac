() => {
  setTimeout(() => {
    const view = document.querySelector('#qa-document .qa-view');
    if (!view) return;
    history.replaceState(null, '', '?' + view.dataset.query);
    const cited = view.querySelector('.qa-box-answer, mark, .qa-box-passage, .qa-target');
    if (cited) cited.scrollIntoView({block: 'center'});
  }, 80);
}
