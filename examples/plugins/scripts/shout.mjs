// stdin mode, text output: whatever is printed (trimmed) is the result.
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  console.log(JSON.parse(input).text.toUpperCase());
});
