// args mode: the numbers arrive as argv elements.
const [a, b] = process.argv.slice(2).map(Number);
process.stdout.write(JSON.stringify({ a, b, sum: a + b }));
