import m from './metrics.js';
m.run({ seconds: 3, rounds: 4 }).then((s) => console.log(s));
