// The console's favicon, served as /console/assets/icon.svg.
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#18202e"/><path d="M7 17h7l3-8 4 14 3-6h1" fill="none" stroke="#6cb98b" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/></svg>
`;
