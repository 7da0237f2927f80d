// As the README says: keep walsync out of Vite's dependency pre-bundling.
export default { optimizeDeps: { exclude: ['walsync'] } };
