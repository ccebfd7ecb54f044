console.log('kernel benchmark: work in progress');
