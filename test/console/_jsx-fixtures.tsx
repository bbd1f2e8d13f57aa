/** @jsxRuntime classic */
/** @jsx h */
/** @jsxFrag Fragment */
// JSX snippets for jsx-runtime.test.ts (tap picks up *.test.ts only, and .ts files cannot hold JSX).
import { Fragment, h, raw, type Child } from '../../src/console/jsx-runtime.js';

export const evil = `<img src=x onerror="alert('x')">&amp;`;
export const para = () => <p title={evil}>{evil}</p>;
export const nested = () => <div>{<b>{'<i>'}</b>}</div>;
export const list = () => <ul>{['a', '<b>'].map((x) => <li>{x}</li>)}</ul>;
export const falsy = () => <p>{null}{undefined}{false}{true}{0}{''}</p>;
export const voidEl = () => <input type="checkbox" checked disabled={false} value={3} />;
export const classes = () => <p class={['a', false, null, 'b']}>x</p>;
export const frag = () => <>{'a'}{raw('<hr>')}</>;
export const html = () => <html></html>;
export const link = (url: string) => <a href={url}>x</a>;
export const form = (url: string) => <form action={url}></form>;
export const ampLink = () => <a href="/console/events?transId=a&amp;b">x</a>;
const Box = (p: { title: string; children?: Child }) => <section><h2>{p.title}</h2>{p.children}</section>;
export const box = () => <Box title="<t>"><p>1</p><p>2</p></Box>;
