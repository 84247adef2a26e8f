// stdin mode: the call's arguments arrive as one JSON object on stdin.
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const { text } = JSON.parse(input);
  const words = text.split(/\s+/).filter(Boolean).length;
  const lines = text === '' ? 0 : text.split('\n').length;
  process.stdout.write(JSON.stringify({ words, lines, characters: [...text].length }));
});
